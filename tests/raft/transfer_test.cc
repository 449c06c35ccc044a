// Leadership transfer with TimeoutNow.
#include <gtest/gtest.h>

#include <vector>

#include "raft/raft.h"
#include "test_cluster.h"

namespace nines::raft {
namespace {

using testing::TestCluster;

TEST(TransferTest, UpToDateFollowerTakesOverWithoutTimeout) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.raft(1).TransferLeadership(2));
  c.Stabilize();
  EXPECT_EQ(c.raft(2).role(), Role::kLeader);
  EXPECT_EQ(c.raft(2).term(), 2u);
  EXPECT_EQ(c.raft(1).leader(), 2u);
}

TEST(TransferTest, LaggingFollowerCatchesUpFirst) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  c.Heal();
  ASSERT_TRUE(c.raft(1).TransferLeadership(3));
  EXPECT_EQ(c.raft(1).Propose("blocked"), ProposeError::kTransferring);
  c.Stabilize();
  EXPECT_EQ(c.raft(3).role(), Role::kLeader);
  EXPECT_EQ(c.AppliedData(3).size(), 5u);
}

TEST(TransferTest, TransferToLearnerOrSelfIsRefused) {
  TestCluster c(3);
  c.Elect(1);
  EXPECT_FALSE(c.raft(1).TransferLeadership(1));
  EXPECT_FALSE(c.raft(1).TransferLeadership(9));
  EXPECT_FALSE(c.raft(2).TransferLeadership(3));
}

TEST(TransferTest, UnreachableTransfereeIsAbandoned) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  ASSERT_TRUE(c.raft(1).TransferLeadership(3));
  c.TickAll(11);
  EXPECT_EQ(c.raft(1).lead_transferee(), kNoNode);
  EXPECT_EQ(c.raft(1).Propose("ok"), ProposeError::kNone);
}

// The TimeoutNows the cluster delivered, in order.
std::vector<Message> TimeoutNows(TestCluster& c) {
  std::vector<Message> out;
  for (const Message& m : c.sent()) {
    if (m.type == MessageType::kTimeoutNow) out.push_back(m);
  }
  return out;
}

// The reason given to TransferLeadership travels as the TimeoutNow's
// context, sent at once or once the transferee caught up; a later plain
// transfer carries none (the store drops only "slow-disk" hand-offs on a
// slow disk).
TEST(TransferTest, TimeoutNowCarriesTheTransferReason) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.raft(1).TransferLeadership(2, "slow-disk"));
  c.Stabilize();
  ASSERT_EQ(TimeoutNows(c).size(), 1u);
  EXPECT_EQ(TimeoutNows(c)[0].context, "slow-disk");
  ASSERT_EQ(c.raft(2).role(), Role::kLeader);

  // A lagging transferee: the TimeoutNow goes out after the catch-up.
  c.Isolate(3);
  ASSERT_EQ(c.raft(2).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  c.Heal();
  ASSERT_TRUE(c.raft(2).TransferLeadership(3, "slow-disk"));
  ASSERT_EQ(TimeoutNows(c).size(), 1u);  // not yet: 3 lacks an entry
  c.Stabilize();
  ASSERT_EQ(TimeoutNows(c).size(), 2u);
  EXPECT_EQ(TimeoutNows(c)[1].context, "slow-disk");
  ASSERT_EQ(c.raft(3).role(), Role::kLeader);

  ASSERT_TRUE(c.raft(3).TransferLeadership(1));
  c.Stabilize();
  ASSERT_EQ(TimeoutNows(c).size(), 3u);
  EXPECT_EQ(TimeoutNows(c)[2].context, "");
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
}

// An abandoned hand-off leaves no reason behind for the next one.
TEST(TransferTest, AnAbandonedTransfersReasonIsNotReused) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  ASSERT_TRUE(c.raft(1).TransferLeadership(3, "slow-disk"));
  c.TickAll(11);
  ASSERT_EQ(c.raft(1).lead_transferee(), kNoNode);
  c.Heal();
  ASSERT_TRUE(c.raft(1).TransferLeadership(3));
  c.Stabilize();
  ASSERT_EQ(TimeoutNows(c).size(), 1u);
  EXPECT_EQ(TimeoutNows(c)[0].context, "");
  EXPECT_EQ(c.raft(3).role(), Role::kLeader);
}

}  // namespace
}  // namespace nines::raft
