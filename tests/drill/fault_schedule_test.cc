// Fault list parsing and the plan that spreads faults over a run.
#include "drill/fault_schedule.h"

#include <gtest/gtest.h>

namespace nines::drill {
namespace {

TEST(FaultList, ParsesNamesAndAll) {
  std::vector<FaultKind> list, all, slow, none{FaultKind::kApp};
  Status s = ParseFaultList("app, leader,spike", &list);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0], FaultKind::kApp);
  EXPECT_EQ(list[1], FaultKind::kLeader);
  EXPECT_EQ(list[2], FaultKind::kSpike);
  ASSERT_TRUE(ParseFaultList("all", &all).ok());
  ASSERT_EQ(all.size(), 12u);  // the seven, crowd, and the gray slow .. clock
  EXPECT_EQ(all[8], FaultKind::kSlow);
  EXPECT_EQ(all[9], FaultKind::kDiskFull);
  EXPECT_EQ(all[10], FaultKind::kSlowDisk);
  EXPECT_EQ(all[11], FaultKind::kClock);
  s = ParseFaultList("slow", &slow);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(slow[0], FaultKind::kSlow);
  ASSERT_TRUE(ParseFaultList("", &none).ok());
  EXPECT_TRUE(none.empty());
}

TEST(FaultList, UnknownNameIsAnError) {
  std::vector<FaultKind> list;
  Status s = ParseFaultList("app,meteor", &list);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("meteor"), std::string::npos);
  EXPECT_NE(s.message().find("partition"), std::string::npos);
}

TEST(FaultList, NamesRoundTrip) {
  for (FaultKind k : AllFaults()) EXPECT_EQ(FaultFromName(FaultName(k)), k);
}

TEST(FaultPlan, SpreadsFaultsWithLeadInAndTail) {
  auto plan = PlanFaults({FaultKind::kApp, FaultKind::kLeader}, 30000);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].start_ms, 3000);
  EXPECT_GT(plan[0].end_ms, plan[0].start_ms);
  EXPECT_EQ(plan[0].window_end_ms, plan[1].start_ms);
  EXPECT_LE(plan[0].end_ms, plan[1].start_ms);
  EXPECT_EQ(plan[1].window_end_ms, 30000);
  EXPECT_LE(plan[1].end_ms, 30000 - 4000);  // room to recover before the end
}

TEST(FaultPlan, EveryFaultFitsInAShortRun) {
  for (int64_t duration : {5000, 10000, 30000, 120000, 3600000}) {
    auto plan = PlanFaults(AllFaults(), duration);
    ASSERT_EQ(plan.size(), AllFaults().size());
    int64_t previous_end = 0;
    for (const PlannedFault& f : plan) {
      EXPECT_GE(f.start_ms, previous_end) << duration;
      EXPECT_GT(f.end_ms, f.start_ms) << duration;
      EXPECT_LE(f.end_ms, f.window_end_ms) << duration;
      EXPECT_LE(f.end_ms - f.start_ms, 20000) << duration;
      previous_end = f.window_end_ms;
    }
    EXPECT_EQ(plan.back().window_end_ms, duration);
  }
  EXPECT_TRUE(PlanFaults({}, 1000).empty());
}

}  // namespace
}  // namespace nines::drill
