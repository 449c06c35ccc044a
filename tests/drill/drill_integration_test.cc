// The drill in short form against the real blueprint: `nines drill` starts
// `nines up`, runs 30 s of load at 50 requests/s while killing an app server
// and the store leader, and its report must show no lost write and an
// availability a broken failover would miss; and stopping a whole region
// costs at most the requests in flight in it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"

namespace nines::test {
namespace {

// Runs `nines drill ARGS --report DIR` to its end; fills *report and *log.
// Returns the drill's exit status.
int RunDrill(const std::string& dir, std::vector<std::string> args, nlohmann::json* report,
             std::string* log) {
  // The blueprint's addresses are this test's alone: ctest's resource lock
  // `blueprint` keeps the other tests that run `nines up` from running beside it.
  args.insert(args.begin(), {NinesBinary(), "drill"});
  for (const char* a : {"--report", dir.c_str(), "--startup-timeout", "150"}) args.push_back(a);
  ChildProcess drill(args, dir + "/drill.log");
  int status = drill.Wait(400'000);
  if (status == -1) drill.Stop(SIGINT, 60'000);  // also stops its `nines up`
  *log = drill.Log();
  std::ifstream in(dir + "/report.json");
  std::stringstream text;
  text << in.rdbuf();
  *report = nlohmann::json::parse(text.str(), nullptr, false);
  return status;
}

TEST(DrillIntegration, ShortDrillKeepsServingThroughAppAndLeaderKills) {
  std::string dir = TestDir("drill_integration");
  nlohmann::json r;
  std::string log;
  int status = RunDrill(
      dir, {"--duration", "30", "--rate", "50", "--faults", "app,leader", "--slo", "99"}, &r, &log);
  ASSERT_TRUE(r.is_object()) << "no report.json; drill log:\n" << log;
  SCOPED_TRACE("drill log:\n" + log);

  // The whole schedule ran: 30 s x 50/s, every request accounted for.
  EXPECT_EQ(r["availability"]["total"].get<uint64_t>(), 1500u);
  // No acknowledged write lost, and the writes were really checked.
  EXPECT_EQ(r["writes"]["lost"].get<uint64_t>(), 0u);
  EXPECT_GT(r["writes"]["acknowledged"].get<uint64_t>(), 300u);
  EXPECT_EQ(r["writes"]["verified"], r["writes"]["acknowledged"]);
  // A broken failover (no new leader, or the lb sending traffic to a dead app)
  // fails every write for the rest of the fault: far more than 1%.
  EXPECT_GE(r["availability"]["percent"].get<double>(), 99.0);
  ASSERT_EQ(r["faults"].size(), 2u);
  for (const auto& f : r["faults"]) {
    EXPECT_FALSE(f["skipped"].get<bool>()) << f.dump();
    EXPECT_GT(f["requests"].get<uint64_t>(), 200u) << f.dump();
    EXPECT_FALSE(f["detected_after_ms"].is_null()) << f.dump();
    EXPECT_TRUE(f["undone"].get<bool>()) << f.dump();
  }
  // The read-back compared every body with the one acknowledged.
  EXPECT_EQ(r["writes"]["mismatched"].get<uint64_t>(), 0u);
  EXPECT_TRUE(r["passed"].get<bool>()) << r["fail_reasons"].dump();
  EXPECT_EQ(r["faults"][1]["kind"], "leader");
  EXPECT_EQ(status, 0) << "drill exit status";
}

// Clients keep their DNS answer for its TTL (5 s). With only the
// stopped region's lbs in it, that was about 40 failed requests at 50/s.
// The blueprint's answers list the next-nearest region's lbs after the
// client's own, so a refused connection moves the client there at once: the
// stop costs at most the few requests in flight in the region.
TEST(DrillIntegration, StoppingARegionCostsAtMostTheRequestsInFlight) {
  std::string dir = TestDir("drill_integration_region");
  nlohmann::json r;
  std::string log;
  RunDrill(dir, {"--duration", "20", "--rate", "50", "--faults", "region", "--slo", "99.9"}, &r,
           &log);
  ASSERT_TRUE(r.is_object()) << "no report.json; drill log:\n" << log;
  SCOPED_TRACE("drill log:\n" + log);
  ASSERT_EQ(r["faults"].size(), 1u);
  const nlohmann::json& f = r["faults"][0];
  EXPECT_EQ(f["kind"], "region");
  EXPECT_FALSE(f["skipped"].get<bool>()) << f.dump();
  EXPECT_FALSE(f["detected_after_ms"].is_null()) << f.dump();
  EXPECT_TRUE(f["undone"].get<bool>()) << f.dump();
  EXPECT_GT(f["requests"].get<uint64_t>(), 200u) << f.dump();
  // While the region is down. What its restart costs is not this test's
  // claim: 1 run in 7 here, the store stalled for about 10 s after the
  // stopped region's member rejoined (no reply from the leader, writes not
  // committed in time), which the drill charges to this fault, as it should.
  EXPECT_LE(f["failures_held"].get<uint64_t>(), 2u) << f.dump();
  EXPECT_LE(f["failures_held"].get<uint64_t>(), f["failures"].get<uint64_t>()) << f.dump();
  EXPECT_EQ(r["writes"]["lost"].get<uint64_t>(), 0u);
  EXPECT_EQ(r["writes"]["verified"], r["writes"]["acknowledged"]);
}

}  // namespace
}  // namespace nines::test
