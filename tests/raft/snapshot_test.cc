// Snapshots: compaction, InstallSnapshot for a lagging follower, and restart
// from a snapshot.
#include <gtest/gtest.h>

#include "raft/raft.h"
#include "test_cluster.h"

namespace nines::raft {
namespace {

using testing::TestCluster;

TEST(SnapshotTest, LaggingFollowerGetsSnapshot) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  Index applied = c.raft(1).log().applied();
  ASSERT_GE(applied, 21u);
  MemoryStorage& s = *c.node(1).storage;
  s.CreateSnapshot(applied, c.raft(1).membership(), "state@" + std::to_string(applied));
  s.Compact(applied);
  EXPECT_EQ(c.raft(1).log().FirstIndex(), applied + 1);
  c.Heal();
  c.TickAll(3);
  ASSERT_EQ(c.node(3).installed.size(), 1u);
  EXPECT_EQ(c.node(3).installed[0].data, "state@" + std::to_string(applied));
  EXPECT_EQ(c.raft(3).log().committed(), c.raft(1).log().committed());
  // Replication continues after the snapshot.
  ASSERT_EQ(c.raft(1).Propose("after"), ProposeError::kNone);
  c.Stabilize();
  EXPECT_EQ(c.AppliedData(3), std::vector<std::string>{"after"});
}

TEST(SnapshotTest, LostSnapshotIsResent) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.raft(1).Propose("x"), ProposeError::kNone);
  c.Stabilize();
  Index applied = c.raft(1).log().applied();
  c.node(1).storage->CreateSnapshot(applied, c.raft(1).membership(), "s");
  c.node(1).storage->Compact(applied);
  c.Heal();
  int dropped = 0;
  c.SetDrop([&](const Message& m) {
    if (m.type == MessageType::kSnapshot && dropped == 0) return ++dropped > 0;
    return false;
  });
  c.TickAll(30);
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(c.node(3).installed.size(), 1u);
}

TEST(SnapshotTest, RestartFromSnapshotStorage) {
  MemoryStorage s(Membership{{1, 2, 3}, {}});
  Snapshot snap;
  snap.meta.index = 10;
  snap.meta.term = 3;
  snap.meta.membership = Membership{{1, 2, 3}, {}};
  s.ApplySnapshot(snap);
  s.Append({Entry{3, 11, EntryType::kNormal, "a"}});
  s.SetHardState(HardState{3, 1, 11});
  Config cfg;
  cfg.id = 2;
  cfg.applied = 10;
  Raft r(cfg, &s);
  EXPECT_EQ(r.term(), 3u);
  EXPECT_EQ(r.vote(), 1u);
  Ready rd = r.GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data, "a");
  r.Advance(rd);
}

TEST(SnapshotTest, MemoryStorageCompactsAndKeepsTerms) {
  MemoryStorage s;
  s.Append({Entry{1, 1, EntryType::kNormal, "a"}, Entry{1, 2, EntryType::kNormal, "b"},
            Entry{2, 3, EntryType::kNormal, "c"}});
  s.SetHardState(HardState{2, 0, 3});
  s.CreateSnapshot(2, Membership{{1}, {}}, "img");
  s.Compact(2);
  EXPECT_EQ(s.FirstIndex(), 3u);
  EXPECT_EQ(s.TermAt(2), 1u);
  EXPECT_FALSE(s.TermAt(1).has_value());
  EXPECT_EQ(s.Entries(3, 4, 100).at(0).data, "c");
  // Overlapping append truncates the suffix.
  s.Append({Entry{3, 3, EntryType::kNormal, "c2"}, Entry{3, 4, EntryType::kNormal, "d"}});
  EXPECT_EQ(s.LastIndex(), 4u);
  EXPECT_EQ(s.TermAt(3), 3u);
}

}  // namespace
}  // namespace nines::raft
