// What a member does when its disk fills (docs/store.md "When the disk fills"):
// - on a disk smaller than a WAL segment (64 MiB by default) it still rolls
//   and purges segments after its snapshots (found by make chaos: a member on
//   a 48 MiB tmpfs never rolled its first segment, filled the disk with it
//   and crash-looped on ENOSPC);
// - when another program fills the disk, it refuses new writes with
//   -NOSPACE (certainly not applied), keeps its state for reads, does not
//   stop, and takes writes again once space returns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "node_cluster.h"
#include "node_harness.h"
#include "small_disk.h"
#include "store/snapshot_file.h"
#include "store/store_node.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::NodeCluster;
using testing::NodeHarness;
using testing::SetCommand;
using testing::SmallDisk;

struct WriteReply {
  bool acked = false;
  std::string error;
};

// Proposes one write and runs the member until it asks for nothing more. A
// crash-stop (the harness throws it) fails the calling test.
WriteReply TryWrite(NodeHarness& h, StoreNode& node, const std::string& command) {
  WriteReply reply;
  bool started = node.ProposeWrite(command, nullptr,
                                   [&](const KvResult* result, uint64_t, const std::string& error) {
                                     reply.acked = result != nullptr;
                                     reply.error = error;
                                   });
  if (!started) reply.error = "not started";
  h.Settle(node);
  return reply;
}

TEST(StoreNodeDiskFull, AMemberOnADiskSmallerThanASegmentRollsAndPurgesItsWal) {
  testing::TempDir dir;
  SmallDisk disk(dir.path(), 8u << 20);
  NodeHarness h(dir.Sub("data"), &disk);
  h.config_.snapshot_entries = 100;  // wal_segment_bytes stays at its default (64 MiB)
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(h.StartAlone(*node));
  const std::string value(8000, 'v');
  for (int i = 0; i < 2000; ++i) {  // 16 MB written: twice the disk
    WriteReply r;
    ASSERT_NO_THROW(r = TryWrite(h, *node, SetCommand("k" + std::to_string(i % 50), value)))
        << "write " << i << " with " << disk.used_bytes() << " bytes used";
    ASSERT_TRUE(r.acked) << "write " << i << ": " << r.error;
    h.Tick(*node);
  }
  EXPECT_LT(disk.used_bytes(), disk.capacity() / 2);
}

TEST(StoreNodeDiskFull, AFullDiskRefusesWritesKeepsTheMemberUpAndRecoversWhenSpaceReturns) {
  testing::TempDir dir;
  SmallDisk disk(dir.path(), 16u << 20);
  NodeHarness h(dir.Sub("data"), &disk);
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(h.StartAlone(*node));
  ASSERT_TRUE(TryWrite(h, *node, SetCommand("before", "1")).acked);

  // Another program takes the disk up to its last 4 KiB.
  const std::string filler = dir.Sub("filler");
  testing::WriteFileBytes(filler, std::string(disk.free_bytes() - 4096, 'x'));
  for (int i = 0; i < 30; ++i) ASSERT_NO_THROW(h.Tick(*node));
  for (int i = 0; i < 20; ++i) {
    WriteReply r;
    ASSERT_NO_THROW(r = TryWrite(h, *node, SetCommand("during" + std::to_string(i), "2")))
        << "write " << i << " stopped the member";
    EXPECT_FALSE(r.acked) << "write " << i << " acknowledged on a full disk";
    EXPECT_EQ(r.error.rfind("NOSPACE ", 0), 0u) << r.error;
    ASSERT_NO_THROW(h.Tick(*node));
  }
  EXPECT_EQ(node->state().Find("during0", 0), nullptr);
  const KvEntry* before = node->state().Find("before", 0);
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->value, "1");
  EXPECT_TRUE(node->IsLeader());

  // Space returns: the member takes writes again, with no restart.
  std::remove(filler.c_str());
  for (int i = 0; i < 30; ++i) ASSERT_NO_THROW(h.Tick(*node));
  WriteReply after = TryWrite(h, *node, SetCommand("after", "3"));
  EXPECT_TRUE(after.acked) << after.error;
  ASSERT_NE(node->state().Find("after", 0), nullptr);
}

// The reserve holds the last snapshot's size (room to write the next one,
// whose compaction is what frees the disk). It must be the same after a
// restart: recovered with a reserve of the WAL segments only, a member lets
// the disk fill until the next snapshot no longer fits, and then nothing
// can compact the WAL and the alarm never clears.
TEST(StoreNodeDiskFull, TheReserveKeepsTheSnapshotSizeOverARestart) {
  testing::TempDir dir;
  SmallDisk disk(dir.path(), 64u << 20);
  NodeHarness h(dir.Sub("data"), &disk);
  h.config_.snapshot_entries = 20;
  h.config_.wal_segment_bytes = 1u << 20;  // reserve: 2 MiB of segments + the snapshot
  std::unique_ptr<StoreNode> node = h.Make();
  ASSERT_TRUE(h.StartAlone(*node));
  const std::string value(100000, 'v');
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(TryWrite(h, *node, SetCommand("k" + std::to_string(i), value)).acked) << i;
  }
  ASSERT_GE(node->counters().snapshots, 2u);  // the last one holds about 3.8 MB

  // 3 MiB left: more than the segments' part of the reserve, less than all of it.
  const std::string filler = dir.Sub("filler");
  testing::WriteFileBytes(filler, std::string(disk.free_bytes() - (3u << 20), 'x'));
  for (int i = 0; i < 30; ++i) ASSERT_NO_THROW(h.Tick(*node));
  ASSERT_TRUE(node->no_space()) << "the alarm before the restart";

  ASSERT_TRUE(node->Close().ok());
  node.reset();
  node = h.Make();
  ASSERT_TRUE(node->Recover().ok());
  for (int i = 0; i < 30; ++i) ASSERT_NO_THROW(h.Tick(*node));
  EXPECT_TRUE(node->no_space()) << "after a restart, with the same room left, the alarm is off";
}

// A leader under the alarm hands leadership over. A voter it picks may be
// unable to take it (down, or itself out of space: it drops TimeoutNow);
// with no writes, every voter's match stays equal, so picking the most
// up-to-date voter picked that same voter at every try, forever, while the
// others could have led and taken writes.
TEST(StoreNodeDiskFull, ALeaderOutOfSpaceTriesAnotherVoterWhenTheFirstCannotTakeOver) {
  testing::TempDir dir;
  NodeCluster cluster(dir.path());
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
  std::vector<std::unique_ptr<SmallDisk>> disks;
  for (const std::string& id : ids) {
    disks.push_back(std::make_unique<SmallDisk>(dir.Sub(id), 1u << 30));
    cluster.UseFileSystem(id, disks.back().get());
  }
  for (const std::string& id : ids) cluster.Start(id, ids);
  for (int i = 0; i < 1000 && cluster.Leader().empty(); ++i) cluster.Tick();
  const std::string leader = cluster.Leader();
  ASSERT_FALSE(leader.empty());
  ASSERT_TRUE(cluster.Write(leader, SetCommand("before", "1")));
  for (int i = 0; i < 20; ++i) cluster.Tick();  // every voter has every entry

  // The voter a transfer tries first (lowest raft id; the matches are
  // equal) goes down; the leader's disk fills.
  std::string first;
  for (const std::string& id : ids) {
    if (id != leader && (first.empty() || StableRaftId(id) < StableRaftId(first))) first = id;
  }
  cluster.Isolate(first, true);
  SmallDisk* leader_disk = disks[std::find(ids.begin(), ids.end(), leader) - ids.begin()].get();
  leader_disk->set_capacity(leader_disk->used_bytes() + 4096);
  for (int i = 0; i < 20; ++i) cluster.Tick();
  ASSERT_TRUE(cluster.Node(leader)->no_space());

  // Five seconds: ten election timeouts.
  for (int i = 0; i < 500 && cluster.Leader() == leader; ++i) cluster.Tick();
  const std::string next = cluster.Leader();
  ASSERT_NE(next, leader) << leader << " still leads: every hand-off went to " << first;
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, first);
  EXPECT_TRUE(cluster.Write(next, SetCommand("after", "2")));
}

// A follower that falls behind the leader's retained log gets the leader's
// snapshot. Once that is durable (file and WAL marker), the older snapshot
// files and the WAL segments it covers are garbage; a follower that keeps
// getting snapshots (slow, or cut off again and again) and never gets
// snapshot_entries past one to take its own, which is what cleaned up,
// kept every received file: its disk filled with them.
TEST(StoreNodeDiskFull, AFollowerKeepsNoMoreThanTwoSnapshotFilesOfTheLeaders) {
  testing::TempDir dir;
  NodeCluster cluster(dir.path());
  cluster.Configure([](const std::string& id, StoreConfig* config) {
    // c never gets far enough past a received snapshot to take its own.
    config->snapshot_entries = id == "c" ? 1000000 : 20;
  });
  const std::vector<std::string> ids = {"a", "b", "c"};
  for (const std::string& id : ids) cluster.Start(id, ids);
  for (int i = 0; i < 1000 && cluster.Leader().empty(); ++i) cluster.Tick();
  if (cluster.Leader() == "c") {
    ASSERT_FALSE(cluster.Node("c")->TransferLeadership("a").empty());
    for (int i = 0; i < 1000 && cluster.Leader() == "c"; ++i) cluster.Tick();
  }
  const std::string leader = cluster.Leader();
  ASSERT_TRUE(leader == "a" || leader == "b") << leader;
  StoreNode* c = cluster.Node("c");
  int key = 0;
  for (int round = 1; round <= 3; ++round) {
    cluster.Isolate("c", true);
    // Past the 1000 entries a leader keeps after its snapshot.
    for (int i = 0; i < 1100; ++i) {
      ASSERT_TRUE(cluster.Write(leader, SetCommand("k" + std::to_string(key++), "v")));
    }
    cluster.Isolate("c", false);
    for (int i = 0; i < 1000 && c->applied_index() < cluster.Node(leader)->commit_index(); ++i) {
      cluster.Tick();
    }
    ASSERT_EQ(c->counters().snapshots_installed, static_cast<uint64_t>(round));
    ASSERT_EQ(c->counters().snapshots, 0u);
  }
  std::vector<SnapshotFileInfo> files;
  ASSERT_TRUE(ListSnapshots(PosixFileSystem(), dir.Sub("c") + "/snap", &files).ok());
  EXPECT_LE(files.size(), 2u);
  // What c kept recovers every write.
  ASSERT_TRUE(c->Close().ok());
  c = cluster.Start("c", ids);
  for (int i = 0; i < 1000 && c->applied_index() < cluster.Node(leader)->commit_index(); ++i) {
    cluster.Tick();
  }
  for (int i = 0; i < key; ++i) {
    ASSERT_NE(c->state().Find("k" + std::to_string(i), 0), nullptr) << i;
  }
}

}  // namespace
}  // namespace nines::store
