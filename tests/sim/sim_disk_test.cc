// The simulated disk keeps what was synced and only a prefix of the rest.
#include "sim_disk.h"

#include <gtest/gtest.h>

namespace nines::sim {
namespace {

raft::Entry E(raft::Term t, raft::Index i) {
  return raft::Entry{t, i, raft::EntryType::kNormal, "x"};
}

TEST(SimDiskTest, SyncedDataSurvivesAndUnsyncedIsAPrefix) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    SimDisk disk(raft::Membership{{1}, {}});
    disk.Write(DiskWrite{std::nullopt, {E(1, 1), E(1, 2)}, raft::HardState{1, 1, 2}});
    disk.Sync();
    disk.Write(DiskWrite{std::nullopt, {E(2, 3), E(2, 4), E(2, 5)}, raft::HardState{2, 1, 5}});
    Prng prng(seed);
    auto [kept, total] = disk.Crash(prng);
    EXPECT_EQ(total, 4u);
    const DiskState& d = disk.durable();
    ASSERT_GE(d.entries.size(), 2u);
    EXPECT_EQ(d.entries.size(), 2 + std::min<size_t>(kept, 3));
    // The hard state survives only when every entry before it did.
    EXPECT_EQ(d.hard_state.commit, kept == 4 ? 5u : 2u);
  }
}

TEST(SimDiskTest, OverwriteTruncatesTheOldSuffix) {
  SimDisk disk(raft::Membership{{1}, {}});
  disk.Write(DiskWrite{std::nullopt, {E(1, 1), E(1, 2), E(1, 3)}, std::nullopt});
  disk.Sync();
  disk.Write(DiskWrite{std::nullopt, {E(2, 2)}, std::nullopt});
  disk.Sync();
  ASSERT_EQ(disk.durable().entries.size(), 2u);
  EXPECT_EQ(disk.durable().entries[1].term, 2u);
}

}  // namespace
}  // namespace nines::sim
