// ReadIndex: reads confirmed by a quorum heartbeat round, and lease reads.
#include <gtest/gtest.h>

#include "raft/raft.h"
#include "test_cluster.h"

namespace nines::raft {
namespace {

using testing::TestCluster;

TEST(ReadIndexTest, LeaderReadWaitsForQuorumRound) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  c.sent().clear();
  ASSERT_TRUE(c.raft(1).ReadIndex("r1"));
  c.Stabilize();
  ASSERT_EQ(c.node(1).reads.size(), 1u);
  EXPECT_EQ(c.node(1).reads[0].context, "r1");
  EXPECT_EQ(c.node(1).reads[0].index, c.raft(1).log().committed());
  int heartbeats = 0;
  for (const Message& m : c.sent()) heartbeats += m.type == MessageType::kHeartbeat;
  EXPECT_GE(heartbeats, 2);
}

TEST(ReadIndexTest, ReadsBeforeOneReadyShareOneHeartbeatRound) {
  TestCluster c(3);
  c.Elect(1);
  c.Stabilize();
  c.sent().clear();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(c.raft(1).ReadIndex("r" + std::to_string(i)));
  c.Stabilize();
  ASSERT_EQ(c.node(1).reads.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(c.node(1).reads[i].context, "r" + std::to_string(i));
  int heartbeats = 0;
  for (const Message& m : c.sent()) heartbeats += m.type == MessageType::kHeartbeat;
  EXPECT_EQ(heartbeats, 2) << "one heartbeat per follower for the whole batch";
  // A read that arrives after the round was sent needs a round of its own.
  ASSERT_TRUE(c.raft(1).ReadIndex("late"));
  c.Stabilize();
  ASSERT_EQ(c.node(1).reads.size(), 101u);
  EXPECT_EQ(c.node(1).reads.back().context, "late");
}

TEST(ReadIndexTest, IsolatedLeaderCannotServeReads) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  ASSERT_TRUE(c.raft(1).ReadIndex("r1"));
  c.TickAll(5);
  EXPECT_TRUE(c.node(1).reads.empty());
}

TEST(ReadIndexTest, FollowersAndFreshLeadersRefuse) {
  TestCluster c(3);
  EXPECT_FALSE(c.raft(2).ReadIndex("r"));
  c.raft(1).Campaign();
  // Leader now, but its no-op has not committed: its commit index may be stale.
  while (c.raft(1).role() != Role::kLeader) c.Stabilize(1);
  EXPECT_FALSE(c.raft(1).ReadIndex("r"));
  c.Stabilize();
  EXPECT_TRUE(c.raft(1).ReadIndex("r"));
}

TEST(ReadIndexTest, LostAcksAreRetriedByHeartbeats) {
  TestCluster c(3);
  c.Elect(1);
  c.SetDrop([](const Message& m) { return m.type == MessageType::kHeartbeatResp; });
  ASSERT_TRUE(c.raft(1).ReadIndex("r1"));
  c.Stabilize();
  EXPECT_TRUE(c.node(1).reads.empty());
  c.Heal();
  c.TickAll(2);
  ASSERT_EQ(c.node(1).reads.size(), 1u);
}

TEST(ReadIndexTest, LeaseReadsSkipTheRoundOnlyWhenEnabled) {
  TestCluster c(3, [](Config& cfg) { cfg.lease_reads = true; });
  // Freshly started nodes ignore votes for one election timeout (they may
  // have acknowledged a lease before a restart), so the first election waits.
  c.raft(1).Campaign();
  c.Stabilize();
  EXPECT_NE(c.raft(1).role(), Role::kLeader);
  NodeId l = kNoNode;
  for (int i = 0; i < 60 && l == kNoNode; ++i) {
    c.TickAll(1);
    l = c.Leader();
  }
  ASSERT_NE(l, kNoNode);
  c.TickAll(2);  // heartbeats acknowledged: lease established
  ASSERT_TRUE(c.raft(l).ReadIndex("lease"));
  Ready rd = c.raft(l).GetReady();
  ASSERT_EQ(rd.read_states.size(), 1u);  // served immediately
  c.raft(l).Advance(rd);
  // Without acknowledgements the lease runs out before an election could.
  c.Isolate(l);
  c.TickAll(9);
  ASSERT_TRUE(c.raft(l).role() == Role::kLeader);
  ASSERT_TRUE(c.raft(l).ReadIndex("late"));
  rd = c.raft(l).GetReady();
  EXPECT_TRUE(rd.read_states.empty());
  c.raft(l).Advance(rd);
}

}  // namespace
}  // namespace nines::raft
