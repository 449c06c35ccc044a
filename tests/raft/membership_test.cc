// Membership: learners, promotion, removal, one change at a time.
#include <gtest/gtest.h>

#include "raft/membership.h"
#include "raft/raft.h"
#include "test_cluster.h"

namespace nines::raft {
namespace {

using testing::TestCluster;

TEST(MembershipTest, ApplyConfChangeRules) {
  Membership m{{1, 2, 3}, {}};
  Membership added, promoted, unused;
  ASSERT_TRUE(ApplyConfChange(m, {ConfChangeType::kAddLearner, 4}, &added).ok());
  EXPECT_EQ(added.learners, std::vector<NodeId>{4});
  Status s = ApplyConfChange(added, {ConfChangeType::kAddVoter, 4}, &unused);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "node is already a member (promote a learner instead)");
  ASSERT_TRUE(ApplyConfChange(added, {ConfChangeType::kPromoteLearner, 4}, &promoted).ok());
  EXPECT_EQ(promoted.voters, (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_FALSE(ApplyConfChange(m, {ConfChangeType::kRemove, 9}, &unused).ok());
  s = ApplyConfChange(Membership{{1}, {}}, {ConfChangeType::kRemove, 1}, &unused);
  EXPECT_EQ(s.message(), "cannot remove the last voter");
  EXPECT_EQ(QuorumSize(Membership{{1, 2, 3, 4}, {}}), 3u);
}

TEST(MembershipTest, LearnerReplicatesButNeverVotesOrCampaigns) {
  TestCluster c(3);
  c.Elect(1);
  c.AddNode(4, Membership{});
  ASSERT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kAddLearner, 4}, nullptr),
            ProposeError::kNone);
  c.Stabilize();
  c.TickAll(3);
  ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  EXPECT_EQ(c.AppliedData(4), std::vector<std::string>{"x"});
  EXPECT_TRUE(IsLearner(c.raft(4).membership(), 4));
  // Isolated for long, a learner still never campaigns.
  c.Isolate(4);
  c.TickAll(60);
  EXPECT_EQ(c.raft(4).role(), Role::kFollower);
  c.Heal();
  // Quorum is still 2 of 3: losing 2 and 3 blocks commits despite the learner.
  c.Isolate(2);
  c.Isolate(3);
  ASSERT_EQ(c.raft(1).Propose("y"), ProposeError::kNone);
  c.Stabilize();
  EXPECT_EQ(c.AppliedData(1).size(), 1u);
}

TEST(MembershipTest, OneChangeAtATime) {
  TestCluster c(3);
  c.Elect(1);
  c.AddNode(4, Membership{});
  c.AddNode(5, Membership{});
  ASSERT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kAddLearner, 4}, nullptr),
            ProposeError::kNone);
  EXPECT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kAddLearner, 5}, nullptr),
            ProposeError::kConfigPending);
  c.Stabilize();
  EXPECT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kAddLearner, 5}, nullptr),
            ProposeError::kNone);
}

TEST(MembershipTest, PromoteThenRemoveChangesQuorum) {
  TestCluster c(3);
  c.Elect(1);
  c.AddNode(4, Membership{});
  ASSERT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kAddLearner, 4}, nullptr),
            ProposeError::kNone);
  c.Stabilize();
  ASSERT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kPromoteLearner, 4}, nullptr),
            ProposeError::kNone);
  c.Stabilize();
  EXPECT_EQ(c.raft(3).membership().voters, (std::vector<NodeId>{1, 2, 3, 4}));
  ASSERT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kRemove, 2}, nullptr),
            ProposeError::kNone);
  c.Stabilize();
  EXPECT_EQ(c.raft(1).membership().voters, (std::vector<NodeId>{1, 3, 4}));
  c.Isolate(2);
  ASSERT_EQ(c.raft(1).Propose("z"), ProposeError::kNone);
  c.Stabilize();
  EXPECT_EQ(c.AppliedData(4), std::vector<std::string>{"z"});
}

TEST(MembershipTest, RemovedLeaderStepsDownAfterCommit) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kRemove, 1}, nullptr),
            ProposeError::kNone);
  c.Stabilize();
  EXPECT_NE(c.raft(1).role(), Role::kLeader);
  c.Isolate(1);
  c.TickAll(40);
  NodeId leader = c.Leader();
  EXPECT_TRUE(leader == 2 || leader == 3);
  EXPECT_EQ(c.raft(leader).membership().voters, (std::vector<NodeId>{2, 3}));
}

TEST(MembershipTest, ConfigRevertsWhenEntryIsTruncated) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  c.AddNode(4, Membership{});
  ASSERT_EQ(c.raft(1).ProposeConfChange({ConfChangeType::kAddLearner, 4}, nullptr),
            ProposeError::kNone);
  EXPECT_TRUE(IsLearner(c.raft(1).membership(), 4));  // in effect once appended
  c.Stabilize();
  c.TickAll(30);
  NodeId leader = c.Leader();
  ASSERT_TRUE(leader == 2 || leader == 3);
  ASSERT_EQ(c.raft(leader).Propose("w"), ProposeError::kNone);
  c.Stabilize();
  c.Heal();
  c.TickAll(3);
  EXPECT_FALSE(IsMember(c.raft(1).membership(), 4));  // the uncommitted change is gone
}

}  // namespace
}  // namespace nines::raft
