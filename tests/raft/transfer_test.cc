// Leadership transfer with TimeoutNow.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace nines::raft
