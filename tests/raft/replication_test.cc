// Log replication: commit, apply order, conflicts, commit rule, batching,
// pipelining and the persistence contract.
#include <gtest/gtest.h>

#include "raft/raft.h"
#include "test_cluster.h"

namespace nines::raft {
namespace {

using testing::TestCluster;

TEST(ReplicationTest, ProposalsCommitEverywhereInOrder) {
  TestCluster c(3);
  c.Elect(1);
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(c.raft(1).Propose("v" + std::to_string(i)), ProposeError::kNone);
  c.Stabilize();
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back("v" + std::to_string(i));
  for (NodeId id = 1; id <= 3; ++id) EXPECT_EQ(c.AppliedData(id), want) << "node " << id;
}

TEST(ReplicationTest, FollowerRefusesProposals) {
  TestCluster c(3);
  c.Elect(1);
  EXPECT_EQ(c.raft(2).Propose("x"), ProposeError::kNotLeader);
}

// A new leader's empty entry commits its term; the applier skips it. An
// empty proposal would look the same and be skipped too, so it is refused.
TEST(ReplicationTest, EmptyProposalIsRefused) {
  TestCluster c(3);
  c.Elect(1);
  EXPECT_EQ(c.raft(1).Propose(""), ProposeError::kEmptyEntry);
  c.Stabilize();
  EXPECT_TRUE(c.AppliedData(1).empty());
}

TEST(ReplicationTest, MinorityCannotCommit) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(2);
  c.Isolate(3);
  ASSERT_EQ(c.raft(1).Propose("lonely"), ProposeError::kNone);
  c.Stabilize();
  EXPECT_TRUE(c.AppliedData(1).empty());
  c.Heal();
  c.TickAll(4);  // lost appends are resent after two heartbeat intervals
  EXPECT_EQ(c.AppliedData(1), std::vector<std::string>{"lonely"});
}

TEST(ReplicationTest, DivergentSuffixIsReplaced) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_EQ(c.raft(1).Propose("a"), ProposeError::kNone);
  c.Stabilize();
  c.Isolate(1);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.raft(1).Propose("lost"), ProposeError::kNone);
  c.Stabilize();
  c.TickAll(30);  // 2 or 3 wins once the lease of 1 has run out
  NodeId leader = c.Leader();
  ASSERT_TRUE(leader == 2 || leader == 3);
  ASSERT_EQ(c.raft(leader).Propose("b"), ProposeError::kNone);
  c.Stabilize();
  c.Heal();
  c.TickAll(3);
  std::vector<std::string> want{"a", "b"};
  for (NodeId id = 1; id <= 3; ++id) EXPECT_EQ(c.AppliedData(id), want) << "node " << id;
  EXPECT_EQ(c.raft(1).log().LastIndex(), c.raft(2).log().LastIndex());
}

TEST(ReplicationTest, FastBackOffSkipsWholeTerms) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(c.raft(1).Propose("stale"), ProposeError::kNone);
  c.Stabilize();
  c.TickAll(30);
  NodeId leader = c.Leader();
  ASSERT_TRUE(leader == 2 || leader == 3);
  ASSERT_EQ(c.raft(leader).Propose("fresh"), ProposeError::kNone);
  c.Stabilize();
  c.Heal();
  c.sent().clear();
  c.TickAll(3);
  int rejects = 0;
  for (const Message& m : c.sent()) rejects += m.type == MessageType::kAppendResp && m.reject;
  EXPECT_LE(rejects, 3);  // not one per divergent entry
  EXPECT_EQ(c.AppliedData(1), std::vector<std::string>{"fresh"});
}

TEST(ReplicationTest, CommitOnlyByCountingInOwnTerm) {
  // Figure 8: an entry from an old term is not committed by counting replicas.
  MemoryStorage storage(Membership{{1, 2, 3}, {}});
  storage.Append({Entry{1, 1, EntryType::kNormal, "old"}, Entry{2, 2, EntryType::kNormal, ""}});
  RaftLog log(&storage, 0);
  EXPECT_FALSE(log.MaybeCommit(1, 2));
  EXPECT_EQ(log.committed(), 0u);
  EXPECT_TRUE(log.MaybeCommit(2, 2));
  EXPECT_EQ(log.committed(), 2u);
}

TEST(ReplicationTest, BatchingRespectsEntryLimit) {
  TestCluster c(3, [](Config& cfg) { cfg.max_msg_entries = 2; });
  c.Elect(1);
  c.Isolate(3);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  c.Heal();
  c.sent().clear();
  c.TickAll(3);
  size_t max_entries = 0;
  for (const Message& m : c.sent()) {
    if (m.type == MessageType::kAppend) max_entries = std::max(max_entries, m.entries.size());
  }
  EXPECT_EQ(max_entries, 2u);
  EXPECT_EQ(c.AppliedData(3).size(), 10u);
}

TEST(ReplicationTest, PipeliningIsBoundedByInflightWindow) {
  TestCluster c(2, [](Config& cfg) {
    cfg.max_msg_entries = 1;
    cfg.max_inflight = 3;
  });
  c.Elect(1);
  // Follower never answers: the leader sends at most 3 appends.
  c.SetDrop([](const Message& m) { return m.type == MessageType::kAppendResp; });
  c.sent().clear();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  int appends = 0;
  for (const Message& m : c.sent()) appends += m.type == MessageType::kAppend && !m.entries.empty();
  EXPECT_EQ(appends, 3);
}

TEST(ReplicationTest, ProposalsBatchIntoOneAppend) {
  TestCluster c(3);
  c.Elect(1);
  c.sent().clear();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  int appends_to_2 = 0;
  for (const Message& m : c.sent()) {
    appends_to_2 += m.type == MessageType::kAppend && m.to == 2 && !m.entries.empty();
  }
  EXPECT_EQ(appends_to_2, 1);
}

TEST(ReplicationTest, LeaderCommitsOnlyAfterItsOwnPersist) {
  MemoryStorage storage(Membership{{1}, {}});
  Config cfg;
  cfg.id = 1;
  Raft r(cfg, &storage);
  r.Campaign();
  ASSERT_EQ(r.role(), Role::kLeader);
  ASSERT_EQ(r.Propose("x"), ProposeError::kNone);
  Ready rd = r.GetReady();
  EXPECT_EQ(rd.entries.size(), 2u);  // no-op + x
  EXPECT_TRUE(rd.committed_entries.empty());
  storage.Append(rd.entries);
  if (rd.hard_state) storage.SetHardState(*rd.hard_state);
  r.Advance(rd);
  ASSERT_TRUE(r.HasReady());
  rd = r.GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 2u);
  EXPECT_EQ(rd.committed_entries[1].data, "x");
  r.Advance(rd);
}

TEST(ReplicationTest, FollowerAcksOnlyAfterPersist) {
  TestCluster c(2);
  c.Elect(1);
  ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  Ready rd = c.raft(1).GetReady();
  for (const Message& m : rd.messages) {
    EXPECT_TRUE(MaySendBeforePersist(m));
    c.raft(2).Step(m);
  }
  c.node(1).storage->Append(rd.entries);
  c.raft(1).Advance(rd);
  Ready frd = c.raft(2).GetReady();
  ASSERT_FALSE(frd.entries.empty());
  bool has_ack = false;
  for (const Message& m : frd.messages) {
    if (m.type == MessageType::kAppendResp) {
      has_ack = true;
      EXPECT_FALSE(MaySendBeforePersist(m));
    }
  }
  EXPECT_TRUE(has_ack);
  c.node(2).storage->Append(frd.entries);
  if (frd.hard_state) c.node(2).storage->SetHardState(*frd.hard_state);
  for (const Message& m : frd.messages) c.raft(1).Step(m);
  c.raft(2).Advance(frd);
  c.Stabilize();
  EXPECT_EQ(c.AppliedData(2), std::vector<std::string>{"x"});
}

TEST(ReplicationTest, RestartKeepsTermVoteAndLog) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  MemoryStorage& s = *c.node(2).storage;
  Config cfg;
  cfg.id = 2;
  cfg.applied = 0;
  Raft restarted(cfg, &s);
  EXPECT_EQ(restarted.term(), 1u);
  EXPECT_EQ(restarted.log().LastIndex(), 2u);
  EXPECT_EQ(restarted.log().committed(), s.GetInitialState().hard_state.commit);
}

}  // namespace
}  // namespace nines::raft
