// The slow-disk guard of StoreNode (docs/store.md "When the disk is slow"),
// with members in one thread: a member's "slow disk" lets the shared manual
// clock advance in each of its file fsyncs, so its own measurement sees the
// delay. A slow leader hands over; a slow voter takes no transfer, so the
// leader tries the next one; when every voter is slow the leader keeps
// leading (and pauses its attempts); a slow member campaigns after a healthy
// one, yet a group left with only slow members still elects one.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node_cluster.h"
#include "store/store_node.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::NodeCluster;
using testing::SetCommand;

// The real file system, with fsyncs that take delay_ms of the clock.
class SlowSyncFs : public FileSystem {
 public:
  explicit SlowSyncFs(ManualClock* clock) : clock_(clock) {}
  void set_delay_ms(int64_t ms) { delay_ms_ = ms; }
  // Only the next `count` fsyncs take `ms` (hiccups), then delay_ms again.
  void SlowNext(int count, int64_t ms) {
    hiccups_ = count;
    hiccup_ms_ = ms;
  }

  Status Create(const std::string& path, std::unique_ptr<File>* file) override {
    return Wrap(base_->Create(path, file), file);
  }
  Status OpenAppend(const std::string& path, std::unique_ptr<File>* file) override {
    return Wrap(base_->OpenAppend(path, file), file);
  }
  Status ReadAll(const std::string& path, uint64_t max_bytes, std::string* contents) override {
    return base_->ReadAll(path, max_bytes, contents);
  }
  Status List(const std::string& dir, std::vector<std::string>* names) override {
    return base_->List(dir, names);
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Status Space(const std::string& path, DiskSpace* space) override {
    return base_->Space(path, space);
  }

 private:
  class SlowFile : public File {
   public:
    SlowFile(SlowSyncFs* fs, std::unique_ptr<File> inner) : fs_(fs), inner_(std::move(inner)) {}
    Status Append(std::string_view data) override { return inner_->Append(data); }
    Status Sync() override {
      if (fs_->hiccups_ > 0) {
        --fs_->hiccups_;
        fs_->clock_->AdvanceMillis(fs_->hiccup_ms_);
      } else {
        fs_->clock_->AdvanceMillis(fs_->delay_ms_);
      }
      return inner_->Sync();
    }
    Status Close() override { return inner_->Close(); }
    uint64_t Size() const override { return inner_->Size(); }

   private:
    SlowSyncFs* fs_;
    std::unique_ptr<File> inner_;
  };
  Status Wrap(Status s, std::unique_ptr<File>* file) {
    if (s.ok()) *file = std::make_unique<SlowFile>(this, std::move(*file));
    return s;
  }

  ManualClock* clock_;
  FileSystem* base_ = PosixFileSystem();
  int64_t delay_ms_ = 0;
  int hiccups_ = 0;
  int64_t hiccup_ms_ = 0;
};

class SlowDiskCluster {
 public:
  explicit SlowDiskCluster(const std::string& root) : cluster_(root) {
    for (const std::string& id : ids_) {
      disks_[id] = std::make_unique<SlowSyncFs>(&cluster_.clock());
      cluster_.UseFileSystem(id, disks_[id].get());
    }
    for (const std::string& id : ids_) cluster_.Start(id, ids_);
  }
  NodeCluster& cluster() { return cluster_; }
  const std::vector<std::string>& ids() const { return ids_; }
  void Slow(const std::string& id, int64_t ms) { disks_.at(id)->set_delay_ms(ms); }
  SlowSyncFs* Disk(const std::string& id) { return disks_.at(id).get(); }
  std::string ElectLeader() {
    for (int i = 0; i < 1000 && cluster_.Leader().empty(); ++i) cluster_.Tick();
    return cluster_.Leader();
  }
  // Writes through the leader, ticking between: every member fsyncs each.
  void WriteSome(int n) {
    for (int i = 0; i < n; ++i) {
      const std::string leader = cluster_.Leader();
      if (!leader.empty()) cluster_.Write(leader, SetCommand("k" + std::to_string(i), "v"));
      cluster_.Tick();
    }
  }
  // The voter a hand-off tries first when every match is equal: the lowest raft id.
  std::string FirstOtherThan(const std::string& leader) const {
    std::string first;
    for (const std::string& id : ids_) {
      if (id != leader && (first.empty() || StableRaftId(id) < StableRaftId(first))) first = id;
    }
    return first;
  }
  std::string Third(const std::string& a, const std::string& b) const {
    for (const std::string& id : ids_) {
      if (id != a && id != b) return id;
    }
    return "";
  }

 private:
  NodeCluster cluster_;
  std::vector<std::string> ids_ = {"a", "b", "c"};
  std::map<std::string, std::unique_ptr<SlowSyncFs>> disks_;
};

TEST(StoreNodeSlowDisk, OneSlowFsyncDoesNotMoveLeadership) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  for (int round = 0; round < 20; ++round) {
    c.Disk(leader)->SlowNext(2, 300);  // two slow fsyncs, then fast ones, again and again
    c.WriteSome(2);
  }
  c.WriteSome(50);
  EXPECT_EQ(c.cluster().Leader(), leader);
  EXPECT_FALSE(c.cluster().Node(leader)->slow_disk());
  EXPECT_EQ(c.cluster().Node(leader)->counters().slow_disk_transfers, 0u);
  EXPECT_EQ(c.cluster().Node(leader)->slow_fsync().slow_fsyncs(), 40u);
  EXPECT_EQ(c.cluster().Node(leader)->slow_fsync().raised(), 0u);
}

TEST(StoreNodeSlowDisk, ASlowLeaderSkipsASlowVoterAndHandsToAHealthyOne) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  const std::string slow_voter = c.FirstOtherThan(leader);
  const std::string healthy = c.Third(leader, slow_voter);
  c.Slow(slow_voter, 200);
  c.WriteSome(5);  // the follower's own fsyncs flag it
  ASSERT_TRUE(c.cluster().Node(slow_voter)->slow_disk());
  ASSERT_EQ(c.cluster().Leader(), leader);
  ASSERT_FALSE(c.cluster().Node(leader)->slow_disk());

  c.Slow(leader, 200);
  for (int i = 0; i < 300 && c.cluster().Leader() == leader; ++i) c.WriteSome(1);
  EXPECT_EQ(c.cluster().Leader(), healthy);
  EXPECT_GE(c.cluster().Node(slow_voter)->counters().slow_disk_refused_transfers, 1u);
  EXPECT_EQ(c.cluster().Node(leader)->counters().slow_disk_transfers, 2u);
  EXPECT_TRUE(c.cluster().Node(leader)->slow_disk());

  // Writes go on under the new leader; the slow members do not take it back.
  for (int i = 0; i < 200; ++i) {
    c.WriteSome(1);
    ASSERT_EQ(c.cluster().Leader(), healthy) << "after " << i << " writes";
  }
  EXPECT_TRUE(c.cluster().Write(healthy, SetCommand("after", "1")));
}

TEST(StoreNodeSlowDisk, WhenEveryVoterIsSlowTheLeaderKeepsLeadingAndPauses) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  for (const std::string& id : c.ids()) c.Slow(id, 200);
  c.WriteSome(5);
  for (const std::string& id : c.ids()) ASSERT_TRUE(c.cluster().Node(id)->slow_disk()) << id;
  // Each voter is tried once (an election timeout each), then the leader
  // pauses for the cooldown (10 s): 3 s of writes see no further attempt.
  const int64_t start = c.cluster().clock().NowMillis();
  while (c.cluster().clock().NowMillis() - start < 3000) c.WriteSome(1);
  EXPECT_EQ(c.cluster().Leader(), leader);
  EXPECT_EQ(c.cluster().Node(leader)->counters().slow_disk_transfers, 2u);
  EXPECT_TRUE(c.cluster().Write(leader, SetCommand("still", "1")));
}

TEST(StoreNodeSlowDisk, AHealthyMemberWinsTheElectionOverASlowOne) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  c.Slow(leader, 200);
  for (int i = 0; i < 300 && c.cluster().Leader() == leader; ++i) c.WriteSome(1);
  const std::string next = c.cluster().Leader();
  ASSERT_NE(next, leader);
  ASSERT_FALSE(next.empty());
  // The new leader is cut off: of the two left, the healthy one leads.
  const std::string healthy = c.Third(leader, next);
  c.cluster().Isolate(next, true);
  std::string elected;
  for (int i = 0; i < 1000; ++i) {
    c.cluster().Tick();
    if (c.cluster().Node(leader)->IsLeader()) elected = leader;
    if (c.cluster().Node(healthy)->IsLeader()) elected = healthy;
    if (!elected.empty()) break;
  }
  EXPECT_EQ(elected, healthy);
}

TEST(StoreNodeSlowDisk, AGroupLeftWithOnlySlowMembersStillElectsOne) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  const std::string other = c.FirstOtherThan(leader);
  c.Slow(other, 200);
  c.WriteSome(5);
  c.Slow(leader, 200);
  for (int i = 0; i < 300 && c.cluster().Leader() == leader; ++i) c.WriteSome(1);
  const std::string next = c.cluster().Leader();
  ASSERT_EQ(next, c.Third(leader, other));
  ASSERT_TRUE(c.cluster().Node(leader)->slow_disk());
  ASSERT_TRUE(c.cluster().Node(other)->slow_disk());
  // The healthy leader is cut off; the two slow ones are left. The cooldown
  // (10 s) has not run out: one of them campaigns late, and wins.
  c.cluster().Isolate(next, true);
  const int64_t cut = c.cluster().clock().NowMillis();
  std::string elected;
  for (int i = 0; i < 1000 && elected.empty(); ++i) {
    c.cluster().Tick();
    for (const std::string& id : {leader, other}) {
      if (c.cluster().Node(id)->IsLeader()) elected = id;
    }
  }
  EXPECT_FALSE(elected.empty()) << "no election among the slow members";
  // Later than a healthy member would (1-2 election timeouts of 500 ms),
  // before the cooldown ends.
  const int64_t took = c.cluster().clock().NowMillis() - cut;
  EXPECT_GE(took, 1500) << took;
  EXPECT_LT(took, 10000) << took;
}

}  // namespace
}  // namespace nines::store
