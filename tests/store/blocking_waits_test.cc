// The leader's queue of blocked clients (store/blocking_waits.h): first come,
// first served per key, one client woken per available element, a woken
// client that finds nothing keeps its place, deadlines, removal, and the
// loss of leadership answering everyone not in flight.
#include "store/blocking_waits.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace nines::store {
namespace {

struct Recorder {
  std::vector<std::string> events;  // "id:ready:key", "id:timeout", "id:lost"
  std::map<std::string, size_t> lists;

  BlockingWaits::Wake For(int who) {
    return [this, who](BlockWake wake, const std::string& key) {
      const char* kind = wake == BlockWake::kReady     ? "ready"
                         : wake == BlockWake::kTimeout ? "timeout"
                                                       : "lost";
      events.push_back(std::to_string(who) + ":" + kind + (key.empty() ? "" : ":" + key));
    };
  }
  BlockingWaits::Available Available() {
    return [this](std::string_view key, ValueType type) -> size_t {
      if (type != ValueType::kList) return 0;
      auto it = lists.find(std::string(key));
      return it == lists.end() ? 0 : it->second;
    };
  }
};

TEST(BlockingWaitsTest, LongestWaitingClientIsServedFirst) {
  BlockingWaits waits;
  Recorder r;
  const uint64_t a = waits.Add({"k"}, ValueType::kList, 0, r.For(1));
  const uint64_t b = waits.Add({"k"}, ValueType::kList, 0, r.For(2));
  const uint64_t c = waits.Add({"other", "k"}, ValueType::kList, 0, r.For(3));
  ASSERT_NE(a, 0u);
  waits.ServeReady(r.Available());  // nothing there yet
  EXPECT_TRUE(r.events.empty());

  r.lists["k"] = 1;  // one element: only the first client is woken
  waits.KeyTouched("k");
  waits.ServeReady(r.Available());
  EXPECT_EQ(r.events, (std::vector<std::string>{"1:ready:k"}));

  // Two more arrive while 1's pop is in flight: 2 and 3 get one each.
  r.lists["k"] = 3;
  waits.KeyTouched("k");
  waits.ServeReady(r.Available());
  EXPECT_EQ(r.events, (std::vector<std::string>{"1:ready:k", "2:ready:k", "3:ready:k"}));
  waits.Remove(a);
  waits.Remove(b);
  waits.Remove(c);
  EXPECT_EQ(waits.size(), 0u);
}

TEST(BlockingWaitsTest, AClientThatFoundNothingKeepsItsPlace) {
  BlockingWaits waits;
  Recorder r;
  const uint64_t a = waits.Add({"k"}, ValueType::kList, 0, r.For(1));
  waits.Add({"k"}, ValueType::kList, 0, r.For(2));
  r.lists["k"] = 1;
  waits.KeyTouched("k");
  waits.ServeReady(r.Available());
  ASSERT_EQ(r.events, (std::vector<std::string>{"1:ready:k"}));
  // Another write took the element before 1's pop: 1 waits again, first.
  r.lists["k"] = 0;
  EXPECT_TRUE(waits.Rearm(a));
  waits.ServeReady(r.Available());
  r.lists["k"] = 1;
  waits.KeyTouched("k");
  waits.ServeReady(r.Available());
  EXPECT_EQ(r.events, (std::vector<std::string>{"1:ready:k", "1:ready:k"}));
}

TEST(BlockingWaitsTest, AValueAlreadyThereWhenAddedIsServed) {
  BlockingWaits waits;
  Recorder r;
  r.lists["k"] = 2;  // pushed between the client's empty pop and its Add
  waits.Add({"k"}, ValueType::kList, 0, r.For(1));
  waits.ServeReady(r.Available());
  EXPECT_EQ(r.events, (std::vector<std::string>{"1:ready:k"}));
}

TEST(BlockingWaitsTest, TypeMustMatch) {
  BlockingWaits waits;
  Recorder r;
  r.lists["k"] = 1;
  waits.Add({"k"}, ValueType::kZset, 0, r.For(1));
  waits.ServeReady(r.Available());
  EXPECT_TRUE(r.events.empty());
}

TEST(BlockingWaitsTest, DeadlinesAnswerOnlyWaitingClients) {
  BlockingWaits waits;
  Recorder r;
  waits.Add({"k"}, ValueType::kList, 100, r.For(1));
  waits.Add({"j"}, ValueType::kList, 200, r.For(2));
  waits.Add({"k"}, ValueType::kList, 0, r.For(3));  // forever
  r.lists["j"] = 1;
  waits.KeyTouched("j");
  waits.ServeReady(r.Available());  // 2 is in flight: its write answers it
  waits.ExpireDue(99);
  EXPECT_EQ(r.events, (std::vector<std::string>{"2:ready:j"}));
  waits.ExpireDue(1000);
  EXPECT_EQ(r.events, (std::vector<std::string>{"2:ready:j", "1:timeout"}));
  EXPECT_EQ(waits.size(), 2u);
}

TEST(BlockingWaitsTest, LeadershipLossAnswersEveryoneNotInFlight) {
  BlockingWaits waits;
  Recorder r;
  const uint64_t a = waits.Add({"k"}, ValueType::kList, 0, r.For(1));
  waits.Add({"j"}, ValueType::kList, 0, r.For(2));
  r.lists["k"] = 1;
  waits.KeyTouched("k");
  waits.ServeReady(r.Available());
  waits.FailAll();
  EXPECT_EQ(r.events, (std::vector<std::string>{"1:ready:k", "2:lost"}));
  EXPECT_EQ(waits.size(), 0u);
  EXPECT_FALSE(waits.Rearm(a));  // 1's pop found nothing: it answers the loss itself
}

TEST(BlockingWaitsTest, RemovedClientsAreNotWokenAndAWakeMayCallBack) {
  BlockingWaits waits;
  Recorder r;
  const uint64_t a = waits.Add({"k"}, ValueType::kList, 0, r.For(1));
  uint64_t b = 0;
  b = waits.Add({"k"}, ValueType::kList, 0, [&](BlockWake, const std::string&) {
    waits.Remove(b);  // as a connection does once served
    r.events.push_back("2:served");
  });
  waits.Remove(a);
  r.lists["k"] = 5;
  waits.KeyTouched("k");
  waits.ServeReady(r.Available());
  EXPECT_EQ(r.events, (std::vector<std::string>{"2:served"}));
  EXPECT_EQ(waits.size(), 0u);
}

TEST(BlockingWaitsTest, Bounded) {
  BlockingWaits waits;
  Recorder r;
  for (size_t i = 0; i < kMaxBlockedClients; ++i) {
    ASSERT_NE(waits.Add({"k"}, ValueType::kList, 0, r.For(0)), 0u);
  }
  EXPECT_EQ(waits.Add({"k"}, ValueType::kList, 0, r.For(0)), 0u);
}

}  // namespace
}  // namespace nines::store
