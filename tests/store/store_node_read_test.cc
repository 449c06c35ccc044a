// Linearizable reads of StoreNodes driven by hand (NodeCluster): one
// heartbeat round in flight at a time, the reads that arrive meanwhile
// sharing the next one, and what they may and may not see.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "node_cluster.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::NodeCluster;
using testing::SetCommand;

struct ReadOutcome {
  bool done = false;
  bool ok = false;
  std::string error;
  uint64_t applied = 0;  // the leader's applied index when it was served
};

// Starts three members and ticks until one leads; returns its id.
std::string StartThree(NodeCluster& cluster) {
  const std::vector<std::string> ids = {"a", "b", "c"};
  for (const std::string& id : ids) cluster.Start(id, ids);
  for (int i = 0; i < 1000; ++i) {
    for (const std::string& id : ids) {
      if (cluster.Node(id)->IsLeader()) return id;
    }
    cluster.Tick();
  }
  return "";
}

bool IsReadHeartbeat(const raft::Message& m) {
  return m.type == raft::MessageType::kHeartbeat && !m.context.empty();
}

ReadOutcome* StartRead(StoreNode* node, std::vector<std::unique_ptr<ReadOutcome>>* outcomes) {
  outcomes->push_back(std::make_unique<ReadOutcome>());
  ReadOutcome* out = outcomes->back().get();
  bool started = node->StartRead(0, [node, out](bool ok, const std::string& error) {
    out->done = true;
    out->ok = ok;
    out->error = error;
    out->applied = node->applied_index();
  });
  return started ? out : nullptr;
}

// Reads that arrive while a heartbeat round is in flight send no round of
// their own: they share the next one, sent once the first is confirmed.
TEST(StoreNodeReadTest, ReadsArrivingWhileARoundIsInFlightShareTheNextRound) {
  testing::TempDir dir;
  NodeCluster cluster(dir.path());
  const std::string leader_id = StartThree(cluster);
  ASSERT_FALSE(leader_id.empty());
  StoreNode* leader = cluster.Node(leader_id);
  ASSERT_TRUE(cluster.Write(leader_id, SetCommand("k", "v0")));  // commits in this term

  std::vector<std::string> followers;
  for (const char* id : {"a", "b", "c"}) {
    if (id != leader_id) followers.push_back(id);
  }
  for (const std::string& id : followers) cluster.Hold(id);
  std::vector<std::unique_ptr<ReadOutcome>> outcomes;
  ReadOutcome* first = StartRead(leader, &outcomes);
  ASSERT_NE(first, nullptr);
  cluster.Settle();
  EXPECT_EQ(cluster.CountQueued(IsReadHeartbeat), 2u) << "one round, to both followers";

  std::vector<ReadOutcome*> later;
  for (int i = 0; i < 3; ++i) {
    later.push_back(StartRead(leader, &outcomes));
    ASSERT_NE(later.back(), nullptr);
    cluster.Settle();
  }
  EXPECT_EQ(cluster.CountQueued(IsReadHeartbeat), 2u)
      << "reads arriving while the round is in flight wait for it";
  EXPECT_EQ(leader->read_batches(), 2u) << "the first round's batch and one deferred batch";

  for (const std::string& id : followers) cluster.Release(id);
  cluster.Settle();
  EXPECT_TRUE(first->done && first->ok) << first->error;
  for (ReadOutcome* r : later) EXPECT_TRUE(r->done && r->ok) << r->error;
  EXPECT_EQ(leader->read_batches(), 0u);
  EXPECT_EQ(leader->pending_reads(), 0u);
}

// A write acknowledged while a round is in flight, before a read starts, is
// seen by that read: its round is sent after the write committed.
TEST(StoreNodeReadTest, DeferredReadSeesAWriteAcknowledgedBeforeItStarted) {
  testing::TempDir dir;
  NodeCluster cluster(dir.path());
  const std::string leader_id = StartThree(cluster);
  ASSERT_FALSE(leader_id.empty());
  StoreNode* leader = cluster.Node(leader_id);
  ASSERT_TRUE(cluster.Write(leader_id, SetCommand("k", "v0")));

  std::vector<std::string> followers;
  for (const char* id : {"a", "b", "c"}) {
    if (id != leader_id) followers.push_back(id);
  }
  for (const std::string& id : followers) cluster.Hold(id);
  cluster.Hold(leader_id);
  // The write's appends go out first, then the first read's round.
  uint64_t write_index = 0;
  bool acked = false;
  ASSERT_TRUE(leader->ProposeWrite(
      SetCommand("k", "v1"), &write_index,
      [&](const KvResult* result, uint64_t, std::string) { acked = result != nullptr; }));
  cluster.Settle();
  std::vector<std::unique_ptr<ReadOutcome>> outcomes;
  ReadOutcome* first = StartRead(leader, &outcomes);
  ASSERT_NE(first, nullptr);
  cluster.Settle();
  // Both followers get the append, then the heartbeat; their answers queue
  // at the held leader in that order (appends first).
  for (const std::string& id : followers) ASSERT_TRUE(cluster.DeliverOneTo(id));
  for (const std::string& id : followers) ASSERT_TRUE(cluster.DeliverOneTo(id));
  // The append answers commit the write (acknowledged) while the first
  // read's round is still unconfirmed.
  ASSERT_TRUE(cluster.DeliverOneTo(leader_id));
  ASSERT_TRUE(cluster.DeliverOneTo(leader_id));
  ASSERT_TRUE(acked);
  ASSERT_FALSE(first->done);

  ReadOutcome* second = StartRead(leader, &outcomes);
  ASSERT_NE(second, nullptr);
  for (const std::string& id : followers) cluster.Release(id);
  cluster.Release(leader_id);
  cluster.Settle();
  ASSERT_TRUE(first->done && first->ok) << first->error;
  ASSERT_TRUE(second->done && second->ok) << second->error;
  EXPECT_GE(second->applied, write_index);
}

// A leader deposed while reads wait for the round in flight serves none of
// them: the deferred ones fail at once with TRYAGAIN (nothing was read), the
// one in flight at the next tick.
TEST(StoreNodeReadTest, DeferredReadsFailWithTryAgainWhenTheLeaderIsDeposed) {
  testing::TempDir dir;
  NodeCluster cluster(dir.path());
  const std::string leader_id = StartThree(cluster);
  ASSERT_FALSE(leader_id.empty());
  StoreNode* leader = cluster.Node(leader_id);
  ASSERT_TRUE(cluster.Write(leader_id, SetCommand("k", "v0")));
  std::string follower_id;
  for (const char* id : {"a", "b", "c"}) {
    if (id != leader_id) {
      cluster.Hold(id);
      follower_id = id;
    }
  }
  std::vector<std::unique_ptr<ReadOutcome>> outcomes;
  ReadOutcome* first = StartRead(leader, &outcomes);
  ASSERT_NE(first, nullptr);
  cluster.Settle();
  ReadOutcome* deferred = StartRead(leader, &outcomes);
  ASSERT_NE(deferred, nullptr);
  cluster.Settle();

  // A message of a later term from another member deposes the leader.
  raft::Message m;
  m.type = raft::MessageType::kHeartbeat;
  m.from = NodeCluster::Member(follower_id).raft_id;
  m.to = NodeCluster::Member(leader_id).raft_id;
  m.term = leader->term() + 1;
  leader->Step(m);
  cluster.Settle();
  ASSERT_FALSE(leader->IsLeader());
  EXPECT_TRUE(deferred->done);
  EXPECT_FALSE(deferred->ok);
  EXPECT_EQ(deferred->error.rfind("TRYAGAIN", 0), 0u) << deferred->error;
  cluster.Tick();
  EXPECT_TRUE(first->done);
  EXPECT_FALSE(first->ok);
  EXPECT_EQ(first->error.rfind("TRYAGAIN", 0), 0u) << first->error;
  EXPECT_EQ(leader->pending_reads(), 0u);
}

}  // namespace
}  // namespace nines::store
