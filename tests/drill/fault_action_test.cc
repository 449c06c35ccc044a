// /api/state parsing, readiness, and which node each fault hits.
#include "drill/fault_action.h"

#include <gtest/gtest.h>

#include "drill/cluster_state.h"

namespace nines::drill {
namespace {

// The shape docs/up.md gives for GET /api/state, two regions.
const char* kState = R"({
  "started_ms": 1,
  "nodes": [
    {"name":"dns-1","kind":"dns","region":"","address":"127.0.0.1:5353","admin":"","pid":1,"state":"running","restarts":0},
    {"name":"us-east-lb","kind":"lb","region":"us-east","address":"127.0.1.1:8080","admin":"127.0.1.1:9901","pid":2,"state":"running","restarts":0},
    {"name":"us-east-app-1","kind":"app","region":"us-east","address":"127.0.1.11:8081","admin":"","pid":3,"state":"running","restarts":0},
    {"name":"us-east-store","kind":"store","region":"us-east","address":"127.0.1.21:6380","admin":"127.0.1.21:7380","pid":4,"state":"running","restarts":0},
    {"name":"us-west-lb","kind":"lb","region":"us-west","address":"127.0.2.1:8080","admin":"127.0.2.1:9901","pid":5,"state":"running","restarts":1},
    {"name":"us-west-app-1","kind":"app","region":"us-west","address":"127.0.2.11:8081","admin":"","pid":6,"state":"running","restarts":0},
    {"name":"us-west-store","kind":"store","region":"us-west","address":"127.0.2.21:6380","admin":"127.0.2.21:7380","pid":7,"state":"running","restarts":0}
  ],
  "store": {"leader":"us-west-store","term":3,"members":[]},
  "lbs": [],
  "regions": [{"name":"us-east","location":[38.9,-77.0],"prefix":"127.0.1","up":true},
              {"name":"us-west","location":[37.4,-122.1],"prefix":"127.0.2","up":true}]
})";

ClusterState Parse(const std::string& text) {
  ClusterState state;
  Status s = ParseClusterState(text, &state);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return state;
}

TEST(ClusterState, Parses) {
  ClusterState s = Parse(kState);
  ASSERT_EQ(s.nodes.size(), 7u);
  EXPECT_EQ(s.leader, "us-west-store");
  EXPECT_EQ(s.term, 3);
  EXPECT_EQ(s.zone, "");
  ASSERT_EQ(s.regions.size(), 2u);
  EXPECT_EQ(s.regions[1].prefix, "127.0.2");
  EXPECT_EQ(s.OfKind("lb").size(), 2u);
  EXPECT_EQ(s.Find("us-west-lb")->restarts, 1);
  EXPECT_EQ(s.NotReadyReason(), "");
}

TEST(ClusterState, NotReady) {
  std::string text = kState;
  ClusterState s = Parse(text);
  s.nodes[2].state = "starting";
  EXPECT_EQ(s.NotReadyReason(), "us-east-app-1 is starting");
  s.nodes[2].state = "running";
  s.leader.clear();
  EXPECT_EQ(s.NotReadyReason(), "the store has no leader yet");
  std::string null_leader = text;
  null_leader.replace(null_leader.find("\"us-west-store\",\"term\""), 15, "null");
  EXPECT_EQ(Parse(null_leader).leader, "");
}

TEST(ClusterState, MalformedIsAnError) {
  ClusterState state;
  EXPECT_FALSE(ParseClusterState("not json", &state).ok());
  Status s = ParseClusterState("{\"nodes\":3}", &state);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("nodes"), std::string::npos);
}

TEST(ClusterState, SubnetsAndHosts) {
  EXPECT_EQ(ClientSubnetOf(RegionState{"a", "127.0.3", true}, 0), "10.3.0.0/24");
  EXPECT_EQ(ClientSubnetOf(RegionState{"a", "10.9.9", true}, 4), "10.5.0.0/24");
  EXPECT_EQ(HostOf("127.0.1.1:8080"), "127.0.1.1");
}

TEST(FaultAction, TargetsAndPaths) {
  ClusterState s = Parse(kState);
  FaultAction app = PlanFaultAction(FaultKind::kApp, s);
  ASSERT_TRUE(app.ok);
  EXPECT_EQ(app.target, "us-east-app-1");
  EXPECT_EQ(app.inject_path, "/api/nodes/us-east-app-1/kill");
  EXPECT_EQ(app.undo_path, "/api/nodes/us-east-app-1/restart");
  EXPECT_EQ(app.detection, Detection::kLbMarksDown);
  EXPECT_EQ(app.lb_admin, "127.0.1.1:9901");
  EXPECT_EQ(app.app_address, "127.0.1.11:8081");

  // slow: the same app server, duty-cycled by `nines up`, which ends it by
  // itself after the hold (a drill that dies cannot leave it slowed).
  FaultAction slow = PlanFaultAction(FaultKind::kSlow, s, 6500);
  ASSERT_TRUE(slow.ok);
  EXPECT_EQ(slow.target, "us-east-app-1");
  EXPECT_EQ(slow.inject_path, "/api/nodes/us-east-app-1/slow");
  EXPECT_EQ(slow.inject_body, R"({"stop_ms":500,"period_ms":700,"for_ms":6500})");
  EXPECT_EQ(slow.undo_path, "/api/nodes/us-east-app-1/fast");
  EXPECT_EQ(slow.detection, Detection::kLbMarksDown);
  EXPECT_EQ(slow.app_address, "127.0.1.11:8081");

  // disk-full and clock: the store leader, with a lease; clock's effect is
  // not expected to be noticed (no detection measured).
  FaultAction full = PlanFaultAction(FaultKind::kDiskFull, s, 6500);
  ASSERT_TRUE(full.ok);
  EXPECT_EQ(full.inject_path, "/api/nodes/us-west-store/fill-disk");
  EXPECT_EQ(full.inject_body, R"({"for_ms":6500})");
  EXPECT_EQ(full.undo_path, "/api/nodes/us-west-store/free-disk");
  EXPECT_EQ(full.detection, Detection::kLeaderChanged);
  EXPECT_EQ(full.old_leader, "us-west-store");
  FaultAction clock = PlanFaultAction(FaultKind::kClock, s, 6500);
  ASSERT_TRUE(clock.ok);
  EXPECT_EQ(clock.inject_path, "/api/nodes/us-west-store/clock");
  EXPECT_EQ(clock.inject_body, R"({"offset_s":3600,"for_ms":6500})");
  EXPECT_EQ(clock.undo_path, "/api/nodes/us-west-store/clock-reset");
  EXPECT_EQ(clock.detection, Detection::kNone);
  FaultAction slow_disk = PlanFaultAction(FaultKind::kSlowDisk, s, 6500);
  ASSERT_TRUE(slow_disk.ok);
  EXPECT_EQ(slow_disk.inject_path, "/api/nodes/us-west-store/slow-disk");
  EXPECT_EQ(slow_disk.inject_body, R"({"delay_ms":200,"for_ms":6500})");
  EXPECT_EQ(slow_disk.undo_path, "/api/nodes/us-west-store/fast-disk");
  // The store's slow-disk guard moves leadership: detected by a new leader.
  EXPECT_EQ(slow_disk.detection, Detection::kLeaderChanged);
  EXPECT_EQ(slow_disk.old_leader, "us-west-store");
  EXPECT_TRUE(NeedsGrayFaults({FaultKind::kApp, FaultKind::kClock}));
  EXPECT_TRUE(NeedsGrayFaults({FaultKind::kSlowDisk}));
  EXPECT_FALSE(NeedsGrayFaults({FaultKind::kApp, FaultKind::kSlow}));

  FaultAction lb = PlanFaultAction(FaultKind::kLb, s);
  EXPECT_EQ(lb.target, "us-east-lb");
  EXPECT_EQ(lb.detection, Detection::kDnsDropsLb);
  EXPECT_EQ(lb.dead_lb_hosts, std::vector<std::string>{"127.0.1.1"});

  FaultAction leader = PlanFaultAction(FaultKind::kLeader, s);
  EXPECT_EQ(leader.inject_path, "/api/nodes/us-west-store/kill");
  EXPECT_EQ(leader.old_leader, "us-west-store");
  EXPECT_EQ(PlanFaultAction(FaultKind::kFreeze, s).undo_path, "/api/nodes/us-west-store/thaw");
  EXPECT_EQ(PlanFaultAction(FaultKind::kPartition, s).inject_path,
            "/api/nodes/us-west-store/isolate");

  // A region: the one holding the store leader.
  FaultAction region = PlanFaultAction(FaultKind::kRegion, s);
  EXPECT_EQ(region.target, "us-west");
  EXPECT_EQ(region.inject_path, "/api/regions/us-west/stop");
  EXPECT_EQ(region.undo_path, "/api/regions/us-west/start");
  EXPECT_EQ(region.region_index, 1u);
  EXPECT_EQ(region.dead_lb_hosts, std::vector<std::string>{"127.0.2.1"});

  FaultAction spike = PlanFaultAction(FaultKind::kSpike, s);
  EXPECT_TRUE(spike.ok);
  EXPECT_TRUE(spike.inject_path.empty());

  // The crowd: the drill itself, at the first region; undone by stopping.
  FaultAction crowd = PlanFaultAction(FaultKind::kCrowd, s);
  EXPECT_TRUE(crowd.ok);
  EXPECT_EQ(crowd.target, "us-east");
  EXPECT_TRUE(crowd.inject_path.empty());
  EXPECT_EQ(crowd.detection, Detection::kCrowdTurnedAway);
}

// With two lbs in a region, DNS has noticed a dead lb once no answer holds
// it, and a stopped region once no answer holds any of its lbs: an answer
// that only dropped the region's first lb has not moved the region yet.
TEST(FaultAction, DnsDetectionWaitsForEveryDeadLbToLeaveTheAnswer) {
  std::string two_lbs = kState;
  std::string second = R"({"name":"us-west-lb-2","kind":"lb","region":"us-west",)"
                       R"("address":"127.0.2.2:8080","admin":"127.0.2.2:9901","pid":8,)"
                       R"("state":"running","restarts":0},)";
  two_lbs.insert(two_lbs.find(R"(    {"name":"us-west-app-1")"), "    " + second + "\n");
  ClusterState s = Parse(two_lbs);
  FaultAction region = PlanFaultAction(FaultKind::kRegion, s);
  EXPECT_EQ(region.detection, Detection::kDnsMovesRegion);
  EXPECT_EQ(region.dead_lb_hosts, (std::vector<std::string>{"127.0.2.1", "127.0.2.2"}));
  EXPECT_FALSE(DnsDetects(region, {"127.0.2.2"}));
  EXPECT_FALSE(DnsDetects(region, {}));
  EXPECT_TRUE(DnsDetects(region, {"127.0.1.1"}));

  FaultAction lb = PlanFaultAction(FaultKind::kLb, s);
  EXPECT_EQ(lb.detection, Detection::kDnsDropsLb);
  EXPECT_FALSE(DnsDetects(lb, {"127.0.1.2", "127.0.1.1"}));
  EXPECT_TRUE(DnsDetects(lb, {"127.0.1.2"}));
  EXPECT_STRNE(DetectionText(Detection::kDnsDropsLb), DetectionText(Detection::kDnsMovesRegion));
}

TEST(FaultAction, NoLeaderNoTarget) {
  ClusterState s = Parse(kState);
  s.leader.clear();
  FaultAction a = PlanFaultAction(FaultKind::kLeader, s);
  EXPECT_FALSE(a.ok);
  EXPECT_NE(a.error.find("no leader"), std::string::npos);
  ClusterState empty;
  EXPECT_FALSE(PlanFaultAction(FaultKind::kApp, empty).ok);
}

// Killing a process that is not running injects nothing: the fault must be
// skipped (and the verdict fail), never reported as survived.
TEST(FaultAction, TargetNotRunningIsNotAFault) {
  auto stop = [](ClusterState* s, const std::string& name) {
    for (NodeState& n : s->nodes) {
      if (n.name == name) n.state = "stopped";
    }
  };
  ClusterState s = Parse(kState);
  stop(&s, "us-east-app-1");
  FaultAction app = PlanFaultAction(FaultKind::kApp, s);
  EXPECT_FALSE(app.ok);
  EXPECT_NE(app.error.find("us-east-app-1 is not running"), std::string::npos) << app.error;
  stop(&s, "us-east-lb");
  EXPECT_FALSE(PlanFaultAction(FaultKind::kLb, s).ok);
  ClusterState t = Parse(kState);
  stop(&t, t.leader);
  for (FaultKind k : {FaultKind::kLeader, FaultKind::kFreeze, FaultKind::kPartition}) {
    FaultAction a = PlanFaultAction(k, t);
    EXPECT_FALSE(a.ok) << FaultName(k);
    EXPECT_NE(a.error.find("not running"), std::string::npos) << a.error;
  }
  ClusterState u = Parse(kState);
  for (RegionState& r : u.regions) r.up = false;
  FaultAction region = PlanFaultAction(FaultKind::kRegion, u);
  EXPECT_FALSE(region.ok);
  EXPECT_NE(region.error.find("already stopped"), std::string::npos) << region.error;
  // Running targets still get their fault.
  EXPECT_TRUE(PlanFaultAction(FaultKind::kApp, Parse(kState)).ok);
}

}  // namespace
}  // namespace nines::drill
