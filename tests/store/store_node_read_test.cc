// Linearizable reads of StoreNodes driven by hand (NodeCluster): which reads
// share a heartbeat round (the batch a front end's ReadGroup follows), and
// what they may and may not see.
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

// Reads started before the next Ready share its heartbeat round (one batch);
// a read started after that round was sent needs a round of its own.
TEST(StoreNodeReadTest, ReadsStartedBeforeTheRoundIsSentShareIt) {
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
  std::vector<ReadOutcome*> reads;
  const uint64_t batch = leader->OpenReadBatch();
  EXPECT_EQ(batch, 0u);
  for (int i = 0; i < 3; ++i) {
    reads.push_back(StartRead(leader, &outcomes));
    ASSERT_NE(reads.back(), nullptr);
  }
  EXPECT_NE(leader->OpenReadBatch(), 0u);
  EXPECT_EQ(leader->read_batches(), 1u);
  cluster.Settle();
  EXPECT_EQ(leader->OpenReadBatch(), 0u) << "closed when its round went out";
  EXPECT_EQ(cluster.CountQueued(IsReadHeartbeat), 2u) << "one round, to both followers";

  reads.push_back(StartRead(leader, &outcomes));
  ASSERT_NE(reads.back(), nullptr);
  cluster.Settle();
  EXPECT_EQ(leader->read_batches(), 2u);
  EXPECT_EQ(cluster.CountQueued(IsReadHeartbeat), 4u) << "a later read sends its own round";

  for (const std::string& id : followers) cluster.Release(id);
  cluster.Settle();
  for (ReadOutcome* r : reads) EXPECT_TRUE(r->done && r->ok) << r->error;
  EXPECT_EQ(leader->read_batches(), 0u);
  EXPECT_EQ(leader->pending_reads(), 0u);
}

// A write acknowledged while a round is in flight, before a read starts, is
// seen by that read: its round is sent after the write committed.
TEST(StoreNodeReadTest, ReadSeesAWriteAcknowledgedWhileAnEarlierRoundIsInFlight) {
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

// A leader deposed while reads wait for their rounds serves none of them:
// they fail with TRYAGAIN (nothing was read) at the next tick.
TEST(StoreNodeReadTest, WaitingReadsFailWithTryAgainWhenTheLeaderIsDeposed) {
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
  ReadOutcome* second = StartRead(leader, &outcomes);
  ASSERT_NE(second, nullptr);
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
  EXPECT_FALSE(first->done || second->done) << "not served by a deposed leader";
  cluster.Tick();
  EXPECT_TRUE(second->done);
  EXPECT_FALSE(second->ok);
  EXPECT_EQ(second->error.rfind("TRYAGAIN", 0), 0u) << second->error;
  EXPECT_TRUE(first->done);
  EXPECT_FALSE(first->ok);
  EXPECT_EQ(first->error.rfind("TRYAGAIN", 0), 0u) << first->error;
  EXPECT_EQ(leader->pending_reads(), 0u);
}

// A read waits for the last write of its connection (min_index). When that
// write's entry was cut off the log (its leader was deposed before it
// committed), the read must not wait for the log to grow to its index again:
// a connection's later writes are parked behind its reads (ClientConnection),
// so the read would hold the connection until its deadline, and again for
// every read after it.
TEST(StoreNodeReadTest, ReadDoesNotWaitForAWriteCutOffTheLog) {
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
  // Writes of one connection that reach no follower.
  cluster.Isolate(leader_id, true);
  uint64_t last_write = 0;
  std::vector<std::string> write_errors;  // in the order they were answered
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(leader->ProposeWrite(SetCommand("k", "lost" + std::to_string(i)), &last_write,
                                     [&](const KvResult* result, uint64_t, std::string error) {
                                       write_errors.push_back(result ? "applied" : error);
                                     }));
  }
  cluster.Settle();
  // The followers elect one of them meanwhile.
  std::string next_id;
  for (int i = 0; i < 1000 && next_id.empty(); ++i) {
    cluster.Tick();
    for (const std::string& id : followers) {
      StoreNode* n = cluster.Node(id);
      if (n->IsLeader() && n->commit_index() == n->last_index()) next_id = id;
    }
  }
  ASSERT_FALSE(next_id.empty());
  const uint64_t old_term = leader->term();
  cluster.Isolate(leader_id, false);
  // Leadership goes back to the old leader, whose uncommitted writes were cut off.
  for (int i = 0; i < 1000 && !(leader->IsLeader() && leader->term() > old_term); ++i) {
    if (cluster.Node(next_id)->IsLeader()) cluster.Node(next_id)->TransferLeadership(leader_id);
    cluster.Tick();
  }
  ASSERT_TRUE(leader->IsLeader() && leader->term() > old_term);
  ASSERT_LT(leader->last_index(), last_write) << "the writes' entries are gone";

  ReadOutcome read;
  auto start = [&] {
    return leader->StartRead(last_write, [&](bool ok, const std::string& error) {
      read.done = true;
      read.ok = ok;
      read.error = error;
    });
  };
  bool started = start();
  for (int i = 0; i < 100 && !started; ++i) {
    cluster.Tick();  // until the new term's first entry commits
    started = start();
  }
  ASSERT_TRUE(started);
  // Well within the request timeout (2 s: 200 ticks).
  for (int i = 0; i < 20 && !read.done; ++i) cluster.Tick();
  EXPECT_TRUE(read.done && read.ok) << (read.done ? read.error : "still waiting");
  // The writes were answered -UNKNOWN when their entries were cut off (not
  // left to their deadline, nor acknowledged after a read that missed them).
  ASSERT_EQ(write_errors.size(), 20u);
  for (const std::string& e : write_errors) EXPECT_EQ(e.rfind("UNKNOWN", 0), 0u) << e;
}

}  // namespace
}  // namespace nines::store
