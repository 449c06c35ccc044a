// Elections: voting rules, PreVote, CheckQuorum and randomized timeouts.
#include <gtest/gtest.h>

#include "raft/raft.h"
#include "test_cluster.h"

namespace nines::raft {
namespace {

using testing::TestCluster;

TEST(ElectionTest, CampaignWinsAndOthersFollow) {
  TestCluster c(3);
  c.Elect(1);
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
  EXPECT_EQ(c.raft(1).term(), 1u);
  EXPECT_EQ(c.raft(2).leader(), 1u);
  EXPECT_EQ(c.raft(3).leader(), 1u);
}

TEST(ElectionTest, TicksElectExactlyOneLeader) {
  TestCluster c(5);
  for (int i = 0; i < 100 && c.Leader() == kNoNode; ++i) c.TickAll(1);
  NodeId leader = c.Leader();
  ASSERT_NE(leader, kNoNode);
  int leaders = 0;
  for (NodeId id = 1; id <= 5; ++id) leaders += c.raft(id).role() == Role::kLeader;
  EXPECT_EQ(leaders, 1);
}

TEST(ElectionTest, RandomizedTimeoutIsWithinRange) {
  // A lone follower campaigns between election_ticks and 2*election_ticks.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    MemoryStorage storage(Membership{{1, 2, 3}, {}});
    Config cfg;
    cfg.id = 1;
    cfg.seed = seed;
    cfg.election_ticks = 10;
    Raft r(cfg, &storage);
    int ticks = 0;
    while (r.role() == Role::kFollower && ticks < 100) {
      r.Tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 10);
    EXPECT_LT(ticks, 20);
    EXPECT_EQ(r.role(), Role::kPreCandidate);
    EXPECT_EQ(r.term(), 0u);  // a pre-vote does not bump the term
  }
}

TEST(ElectionTest, ACampaignDelayPostponesTheCampaignByThatManyTicks) {
  // A member told to wait (a slow disk, store_slow_disk.cc) campaigns
  // between election_ticks + delay and 2*election_ticks + delay; set back
  // to 0 it campaigns at its own timeout again.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    MemoryStorage storage(Membership{{1, 2, 3}, {}});
    Config cfg;
    cfg.id = 1;
    cfg.seed = seed;
    cfg.election_ticks = 10;
    Raft r(cfg, &storage);
    r.set_campaign_delay_ticks(30);
    int ticks = 0;
    while (r.role() == Role::kFollower && ticks < 100) {
      r.Tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 40);
    EXPECT_LT(ticks, 50);
    EXPECT_EQ(r.role(), Role::kPreCandidate);
  }
}

TEST(ElectionTest, AHealthyMemberWinsBeforeADelayedOne) {
  TestCluster c(3);
  c.Elect(1);
  c.raft(2).set_campaign_delay_ticks(100);
  c.Isolate(1);
  for (int i = 0; i < 300 && (c.Leader() == kNoNode || c.Leader() == 1); ++i) c.TickAll(1);
  EXPECT_EQ(c.raft(3).role(), Role::kLeader);
  EXPECT_EQ(c.raft(2).role(), Role::kFollower);
  EXPECT_EQ(c.raft(2).leader(), 3u);  // it still voted
}

TEST(ElectionTest, OneVotePerTerm) {
  MemoryStorage storage(Membership{{1, 2, 3}, {}});
  Config cfg;
  cfg.id = 3;
  Raft r(cfg, &storage);
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 1;
  vote.to = 3;
  vote.term = 5;
  r.Step(vote);
  Ready rd = r.GetReady();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_FALSE(rd.messages[0].reject);
  ASSERT_TRUE(rd.hard_state);
  EXPECT_EQ(rd.hard_state->vote, 1u);  // the vote is persisted before the answer goes out
  EXPECT_FALSE(MaySendBeforePersist(rd.messages[0]));
  r.Advance(rd);
  vote.from = 2;
  r.Step(vote);
  rd = r.GetReady();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_TRUE(rd.messages[0].reject);
  r.Advance(rd);
}

TEST(ElectionTest, StaleLogLosesVote) {
  TestCluster c(3, [](Config& cfg) { cfg.check_quorum = false; });
  c.Elect(1);
  c.Isolate(3);
  ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  c.Heal();
  // Node 3 misses "x"; its election must fail (pre-vote rejected by 1 and 2).
  c.sent().clear();
  c.raft(3).Campaign();
  c.Stabilize();
  EXPECT_NE(c.raft(3).role(), Role::kLeader);
  int rejects = 0;
  for (const Message& m : c.sent()) rejects += m.type == MessageType::kPreVoteResp && m.reject;
  EXPECT_EQ(rejects, 2);
}

TEST(ElectionTest, PreVoteKeepsPartitionedNodeFromBumpingTerm) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  c.TickAll(200);
  EXPECT_EQ(c.raft(3).term(), 1u);
  c.Heal();
  c.TickAll(5);
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
  EXPECT_EQ(c.raft(1).term(), 1u);
}

TEST(ElectionTest, WithoutPreVoteAPartitionedNodeBumpsTerm) {
  TestCluster c(3, [](Config& cfg) { cfg.pre_vote = false; });
  c.Elect(1);
  c.Isolate(3);
  c.TickAll(50);
  EXPECT_GT(c.raft(3).term(), 1u);  // the test above can fail: this is what it prevents
}

TEST(ElectionTest, CheckQuorumStepsDownIsolatedLeader) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  c.TickAll(25);
  EXPECT_NE(c.raft(1).role(), Role::kLeader);
  NodeId leader = c.Leader();
  EXPECT_TRUE(leader == 2 || leader == 3);
}

TEST(ElectionTest, FollowerInLeaseIgnoresVoteRequests) {
  TestCluster c(3);
  c.Elect(1);
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 3;
  vote.to = 2;
  vote.term = 5;
  vote.index = 100;
  vote.log_term = 5;
  c.raft(2).Step(vote);
  EXPECT_EQ(c.raft(2).term(), 1u);  // ignored: it heard from its leader recently
}

TEST(ElectionTest, SingleNodeElectsItself) {
  TestCluster c(1);
  c.TickAll(25);
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
}

}  // namespace
}  // namespace nines::raft
