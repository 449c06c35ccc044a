// Membership changes of StoreNodes driven by hand (NodeCluster): when a
// learner may become a voter.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "node_cluster.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::NodeCluster;
using testing::SetCommand;

struct MemberView {
  bool present = false;
  bool voter = false;
  uint64_t match = 0;
};

MemberView View(StoreNode* leader, const std::string& id) {
  MemberView v;
  for (const auto& m : nlohmann::json::parse(leader->MembersJson())) {
    if (m.value("id", "") != id) continue;
    v.present = true;
    v.voter = m["role"] == "voter";
    v.match = m.value("match", uint64_t{0});
  }
  return v;
}

// A learner becomes a voter only once it has caught up with the leader's
// commit index (etcd refuses to promote a learner that is "not ready"), not
// as soon as it has the entry that added it: a voter that lags far behind
// counts toward quorums it cannot help make.
TEST(StoreNodeMembersTest, LearnerIsPromotedOnlyOnceItReachesTheLeadersCommit) {
  testing::TempDir dir;
  NodeCluster cluster(dir.path());
  StoreNode* a = cluster.Start("a", {"a"});
  ASSERT_TRUE(a->IsLeader());
  cluster.Hold("b");  // b hears nothing until the test lets it
  StoreNode* b = cluster.Start("b", {"a", "b"}, /*join=*/true);
  ASSERT_FALSE(b->IsLeader());

  bool finished = false;
  int status = 0;
  a->AddMember(NodeCluster::Member("b"), [&](const MemberChangeResult& r) {
    finished = true;
    status = r.status;
  });
  for (int i = 0; i < 100 && !View(a, "b").present; ++i) cluster.Tick();
  ASSERT_TRUE(View(a, "b").present) << "b was never added as a learner";
  ASSERT_FALSE(View(a, "b").voter);
  const uint64_t added_at = a->last_index();

  // Writes after the learner was added: b must fetch them too before it votes.
  for (int i = 0; i < 700; ++i) {
    ASSERT_TRUE(cluster.Write("a", SetCommand("k" + std::to_string(i), "v")));
  }
  const uint64_t commit = a->commit_index();
  ASSERT_GT(commit, added_at + 600);

  bool passed_added_entry = false;
  for (int step = 0; step < 3000 && !finished; ++step) {
    cluster.DeliverOneTo("b");
    const MemberView before = View(a, "b");
    const uint64_t commit_before = a->commit_index();
    passed_added_entry = passed_added_entry || before.match >= added_at;
    cluster.Tick();
    if (!before.voter && View(a, "b").voter) {
      EXPECT_GE(before.match, commit_before)
          << "b was promoted with match " << before.match << " behind the commit index "
          << commit_before << " (it was added at " << added_at << ")";
    }
  }
  EXPECT_TRUE(passed_added_entry);
  ASSERT_TRUE(finished);
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(View(a, "b").voter);
  EXPECT_GE(b->applied_index(), commit);
}

}  // namespace
}  // namespace nines::store
