// Recovery of a whole StoreNode from its WAL and snapshots: what survives a
// crash at awkward moments, and which damage makes it refuse to start.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "faulty_file.h"
#include "node_harness.h"
#include "raft/codec.h"
#include "store/kv_state.h"
#include "store/member_directory.h"
#include "store/snapshot_file.h"
#include "store/wal.h"
#include "store/wal_format.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::NodeHarness;
using testing::SetCommand;

uint64_t LastSegmentNumber(const std::string& wal_dir) {
  std::vector<std::string> names;
  EXPECT_TRUE(PosixFileSystem()->List(wal_dir, &names).ok());
  uint64_t last = 0;
  for (const std::string& name : names) {
    if (auto n = wal::ParseSegmentFileName(name)) last = std::max(last, *n);
  }
  return last;
}

std::string EntryRecord(uint64_t term, uint64_t index, std::string data = "") {
  raft::Entry e;
  e.term = term;
  e.index = index;
  e.data = std::move(data);
  return "E" + raft::EncodeEntry(e);
}

std::string HardStateRecord(uint64_t term, uint64_t vote, uint64_t commit) {
  return "H" + raft::EncodeHardState(raft::HardState{term, vote, commit});
}

// A crash inside StartSegment (the segment file created, its header never
// written) makes the next start rewrite that segment. Its preamble must carry
// the recovered hard state: a preamble of term 0 and no vote would let the
// member vote twice in one term after the start after that.
TEST(StoreNodeRecoveryTest, CrashInsideStartSegmentKeepsTermAndVoteOverTwoRestarts) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  raft::HardState before;
  {
    std::unique_ptr<StoreNode> node = h.Make();
    ASSERT_TRUE(h.StartAlone(*node));
    ASSERT_TRUE(h.Write(*node, SetCommand("k", "v")));
    before = node->hard_state();
    ASSERT_GE(before.term, 1u);
    ASSERT_EQ(before.vote, h.config_.members[0].raft_id);
    ASSERT_TRUE(node->Close().ok());
  }
  const std::string wal_dir = dir.Sub("wal");
  uint64_t next = LastSegmentNumber(wal_dir) + 1;
  testing::WriteFileBytes(wal_dir + "/" + wal::SegmentFileName(next), "");  // no header yet
  for (int restart = 1; restart <= 2; ++restart) {
    std::unique_ptr<StoreNode> node = h.Make();
    ASSERT_TRUE(node->Recover().ok()) << "restart " << restart;
    EXPECT_EQ(node->hard_state().term, before.term) << "restart " << restart;
    EXPECT_EQ(node->hard_state().vote, before.vote) << "restart " << restart;
    EXPECT_EQ(node->hard_state().commit, before.commit) << "restart " << restart;
    ASSERT_TRUE(node->Close().ok());
  }
}

// A hard state whose commit index is past the last entry on disk (its entries
// lost to a torn tail) must stop the member with the file and offset, not be
// clamped: clamping would apply old uncommitted entries as committed.
TEST(StoreNodeRecoveryTest, CommitPastTheLastDurableEntryRefusesToStart) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  const uint64_t self = h.config_.members[0].raft_id;
  const std::string wal_dir = dir.Sub("wal");
  {
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    auto ignore = [](uint64_t, std::string_view) { return Status::Ok(); };
    ASSERT_TRUE(Wal::Open(PosixFileSystem(), wal_dir, {}, ignore, &wal, &report).ok());
    ASSERT_TRUE(wal->Append(0, HardStateRecord(1, self, 0)).ok());
    ASSERT_TRUE(wal->Append(1, EntryRecord(1, 1)).ok());
    ASSERT_TRUE(wal->Append(0, HardStateRecord(1, self, 1)).ok());
    // As a rolled segment's preamble would have it: commit 3 ahead of entries
    // 2 and 3, which a torn tail then took away.
    ASSERT_TRUE(wal->Append(0, HardStateRecord(1, self, 3)).ok());
    ASSERT_TRUE(wal->Sync().ok());
    ASSERT_TRUE(wal->Close().ok());
  }
  std::unique_ptr<StoreNode> node = h.Make();
  Status s = node->Recover();
  ASSERT_FALSE(s.ok()) << "recovered with commit " << node->hard_state().commit;
  EXPECT_NE(s.message().find(wal::SegmentFileName(1)), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("offset"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("commit 3"), std::string::npos) << s.ToString();
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Snapshot content for the single member of NodeHarness with `kv` applied.
std::string SnapshotWith(const NodeHarness& h, const std::vector<std::string>& commands) {
  KvState state;
  uint64_t index = 0;
  for (const std::string& c : commands) state.Apply(++index, c);
  raft::Membership m;
  m.voters = {h.config_.members[0].raft_id};
  MemberDirectory directory;
  directory.Upsert(h.config_.members[0]);
  return EncodeSnapshotContent(m, directory, state.Serialize());
}

// A snapshot file whose marker never reached the WAL (written just before a
// crash) is not used, as etcd does: the member recovers from its log alone.
TEST(StoreNodeRecoveryTest, SnapshotWithoutItsWalMarkerIsIgnored) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  {
    std::unique_ptr<StoreNode> node = h.Make();
    ASSERT_TRUE(h.StartAlone(*node));
    ASSERT_TRUE(h.Write(*node, SetCommand("k", "logged")));
    ASSERT_TRUE(node->Close().ok());
  }
  ASSERT_TRUE(WriteSnapshot(PosixFileSystem(), dir.Sub("snap"), SnapshotMeta{50, 1},
                            SnapshotWith(h, {SetCommand("k", "unmarked")}))
                  .ok());
  std::unique_ptr<StoreNode> node = h.Make();
  Status s = node->Recover();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_LT(node->last_index(), 50u);
  node->CampaignIfAlone();
  h.Settle(*node);
  const KvEntry* e = node->state().Find("k", node->WallMs());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, "logged");
}

// A snapshot the member takes itself gets its marker, so the next start
// uses it (and the log after it).
TEST(StoreNodeRecoveryTest, OwnSnapshotIsMarkedAndUsedAtRecovery) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  h.config_.snapshot_entries = 5;
  {
    std::unique_ptr<StoreNode> node = h.Make();
    ASSERT_TRUE(h.StartAlone(*node));
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE(h.Write(*node, SetCommand("k" + std::to_string(i), std::to_string(i))));
    }
    ASSERT_GE(node->counters().snapshots, 1u);
    ASSERT_TRUE(node->Close().ok());
  }
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(node->Recover().ok());
  EXPECT_GE(node->applied_index(), 5u);  // recovered from the snapshot
  node->CampaignIfAlone();
  h.Settle(*node);
  for (int i = 0; i < 12; ++i) {
    const KvEntry* e = node->state().Find("k" + std::to_string(i), node->WallMs());
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->value, std::to_string(i));
  }
}

// Replay honours a truncating append at or below the snapshot index: entry 4
// of term 1 was overwritten (the append of entry 3 of term 2 cut it off)
// before the snapshot at 3 was taken, so it must not come back.
TEST(StoreNodeRecoveryTest, TruncationAtOrBelowTheSnapshotIsReplayed) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  const uint64_t self = h.config_.members[0].raft_id;
  {
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    auto ignore = [](uint64_t, std::string_view) { return Status::Ok(); };
    ASSERT_TRUE(Wal::Open(PosixFileSystem(), dir.Sub("wal"), {}, ignore, &wal, &report).ok());
    ASSERT_TRUE(wal->Append(0, HardStateRecord(1, self, 0)).ok());
    for (uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(wal->Append(i, EntryRecord(1, i)).ok());
    ASSERT_TRUE(wal->Append(0, HardStateRecord(2, self, 2)).ok());
    ASSERT_TRUE(wal->Append(3, EntryRecord(2, 3)).ok());  // cuts off 3 and 4 of term 1
    ASSERT_TRUE(wal->Append(0, HardStateRecord(2, self, 3)).ok());
    ASSERT_TRUE(
        WriteSnapshot(PosixFileSystem(), dir.Sub("snap"), SnapshotMeta{3, 2}, SnapshotWith(h, {}))
            .ok());
    std::string marker = "C";
    PutU64(&marker, 3);
    PutU64(&marker, 2);
    ASSERT_TRUE(wal->Append(3, marker).ok());
    ASSERT_TRUE(wal->Sync().ok());
    ASSERT_TRUE(wal->Close().ok());
  }
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(node->Recover().ok());
  EXPECT_EQ(node->last_index(), 3u) << "the overwritten entry 4 of term 1 came back";
}

StoreMember OtherMember(const std::string& id, uint16_t port) {
  StoreMember m;
  m.id = id;
  m.raft_id = StableRaftId(id);
  m.peer = Endpoint{"127.0.0.1", port};
  m.client = Endpoint{"127.0.0.1", static_cast<uint16_t>(port + 1)};
  return m;
}

// The [[member]] list bootstraps the group once: the first start writes it to
// the log as entry 1 (committed), and a later start never reads the voters
// from store.toml again. An edited list on an initialized member could give
// members disjoint majorities: it is refused, pointing at /v1/members.
TEST(StoreNodeRecoveryTest, BootstrapConfigurationIsTheFirstLogEntry) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  h.config_.members.push_back(OtherMember("b", 3));
  h.config_.members.push_back(OtherMember("c", 5));
  {
    std::unique_ptr<StoreNode> node = h.Make();
    ASSERT_TRUE(node->Recover().ok());
    EXPECT_EQ(node->last_index(), 1u);
    EXPECT_EQ(node->hard_state().commit, 1u);
    ASSERT_TRUE(node->Close().ok());
  }
  {
    std::unique_ptr<StoreNode> node = h.Make();  // same list: starts
    ASSERT_TRUE(node->Recover().ok());
    EXPECT_EQ(node->last_index(), 1u);
    ASSERT_TRUE(node->Close().ok());
  }
  h.config_.members.back() = OtherMember("d", 7);  // c replaced by d in store.toml
  std::unique_ptr<StoreNode> node = h.Make();
  Status s = node->Recover();
  ASSERT_FALSE(s.ok()) << "started with voters re-read from an edited [[member]] list";
  EXPECT_NE(s.message().find("/v1/members"), std::string::npos) << s.ToString();
}

// A committed entry the member cannot decode stops it with a clear error
// naming the entry (crash-stop) instead of being skipped: skipping it would
// let this member's state silently diverge from the others'.
TEST(StoreNodeRecoveryTest, UndecodableCommittedEntryStopsTheMember) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  const uint64_t self = h.config_.members[0].raft_id;
  {
    std::unique_ptr<Wal> wal;
    WalRecoveryReport report;
    auto ignore = [](uint64_t, std::string_view) { return Status::Ok(); };
    ASSERT_TRUE(Wal::Open(PosixFileSystem(), dir.Sub("wal"), {}, ignore, &wal, &report).ok());
    ASSERT_TRUE(wal->Append(1, EntryRecord(1, 1)).ok());         // the leader's empty entry
    ASSERT_TRUE(wal->Append(2, EntryRecord(1, 2, "xyz")).ok());  // too short for its header
    ASSERT_TRUE(wal->Append(0, HardStateRecord(1, self, 2)).ok());
    ASSERT_TRUE(wal->Sync().ok());
    ASSERT_TRUE(wal->Close().ok());
  }
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(node->Recover().ok());
  try {
    node->Drain();  // applies the committed entries
    FAIL() << "entry 2 was skipped; applied index " << node->applied_index();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("entry 2"), std::string::npos) << e.what();
  }
}

// Unmarked snapshot files (written just before a crash, or *.tmp leftovers)
// are not snapshots this member can recover from: the cleanup after a new
// snapshot must never count them among the ones it keeps, or it deletes the
// marked snapshot while compaction deletes the log it replaces.
TEST(StoreNodeRecoveryTest, UnmarkedSnapshotLeftoversNeverCostTheMarkedSnapshot) {
  testing::TempDir dir;
  NodeHarness h(dir.path());
  h.config_.snapshot_entries = 5;
  h.config_.wal_segment_bytes = 4096;
  const std::string value(300, 'v');
  {
    std::unique_ptr<StoreNode> node = h.Make();
    ASSERT_TRUE(h.StartAlone(*node));
    for (uint64_t index : {1000, 1001}) {
      ASSERT_TRUE(WriteSnapshot(PosixFileSystem(), dir.Sub("snap"), SnapshotMeta{index, 1},
                                SnapshotWith(h, {SetCommand("k0", "unmarked")}))
                      .ok());
    }
    testing::WriteFileBytes(
        dir.Sub("snap") + "/" + SnapshotFileName(SnapshotMeta{2000, 1}) + ".tmp",
        "half a snapshot");
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(h.Write(*node, SetCommand("k" + std::to_string(i), value + std::to_string(i))));
    }
    ASSERT_GE(node->counters().snapshots, 2u);
    ASSERT_TRUE(node->Close().ok());
  }
  std::unique_ptr<StoreNode> node = h.Make();
  Status s = node->Recover();
  ASSERT_TRUE(s.ok()) << s.ToString();
  node->CampaignIfAlone();
  h.Settle(*node);
  for (int i = 0; i < 40; ++i) {
    const KvEntry* e = node->state().Find("k" + std::to_string(i), node->WallMs());
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->value, value + std::to_string(i));
  }
}

// A previous run that crashed between mkdir and the fsync of the parent left
// the data directories in place but not durable; CreateDirs finds them
// existing and syncs nothing. Recovery must make the entries of the data
// directory, and of wal/ and snap/ in it, durable itself before anything is
// acknowledged, or a power loss can drop the whole log.
TEST(StoreNodeRecoveryTest, StartSyncsTheDataDirectoriesEvenWhenTheyExist) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  ASSERT_TRUE(PosixFileSystem()->CreateDirs(data + "/wal").ok());
  ASSERT_TRUE(PosixFileSystem()->CreateDirs(data + "/snap").ok());
  testing::FaultyFileSystem fs;
  NodeHarness h(data, &fs);
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(node->Recover().ok());
  EXPECT_EQ(fs.synced_dirs().count(data), 1u) << "wal/ and snap/ in it were never made durable";
  EXPECT_EQ(fs.synced_dirs().count(dir.path()), 1u) << "the data directory was never made durable";
}

}  // namespace
}  // namespace nines::store
