// The slow-disk guard of StoreNode (docs/store.md "When the disk is slow"),
// with members in one thread: a member's "slow disk" lets the shared manual
// clock advance in each of its file fsyncs, so its own measurement sees the
// delay. A slow leader hands over; a slow voter takes no transfer, so the
// leader tries the next one; when every voter is slow the leader keeps
// leading (and pauses its attempts); a slow member campaigns after a healthy
// one, yet a group left with only slow members still elects one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
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
    Status s = base_->Space(path, space);
    if (s.ok() && full_) space->free_bytes = 0;
    return s;
  }
  // The disk reports no free room (the NOSPACE alarm), or its real room again.
  void set_full(bool full) { full_ = full; }

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
  bool full_ = false;
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

// Review (revsd): one fsync covers a whole Ready; a healthy disk takes longer
// for a large one. Large writes whose fsyncs take 150 ms for 2 MiB each (75
// ms a MiB) do not flag the leader's disk; small ones that slow do.
TEST(StoreNodeSlowDisk, LargeGroupCommitsDoNotFlagAHealthyDisk) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  c.Slow(leader, 150);
  const std::string big(2 << 20, 'x');
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.cluster().Write(leader, SetCommand("big" + std::to_string(i), big)));
    c.cluster().Tick();
  }
  EXPECT_GE(c.cluster().Node(leader)->last_fsync_ms(), 150);
  // (This fake disk takes 150 ms for the small fsync of each write's commit
  // too: slow, but never three in a row.)
  EXPECT_EQ(c.cluster().Node(leader)->slow_fsync().raised(), 0u);
  EXPECT_FALSE(c.cluster().Node(leader)->slow_disk());
  EXPECT_EQ(c.cluster().Leader(), leader);
  c.WriteSome(5);  // small writes, 150 ms each: slow
  EXPECT_TRUE(c.cluster().Node(leader)->slow_disk());
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
  // The slow voter reported its flag (its AppendResps): it was not tried,
  // so proposals were not held back an election timeout for it.
  EXPECT_EQ(c.cluster().Node(slow_voter)->counters().slow_disk_refused_transfers, 0u);
  EXPECT_EQ(c.cluster().Node(leader)->counters().slow_disk_transfers, 1u);
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
  // Every voter reported its slow disk: the leader tries none of them (a
  // try would hold proposals back an election timeout for nothing). All
  // three were flagged by the same write: the leader's flag, raised in its
  // own fsync, came before its followers' reports, so it may have tried one.
  const uint64_t tried = c.cluster().Node(leader)->counters().slow_disk_transfers;
  EXPECT_LE(tried, 1u);
  const int64_t start = c.cluster().clock().NowMillis();
  while (c.cluster().clock().NowMillis() - start < 30000) c.WriteSome(1);
  EXPECT_EQ(c.cluster().Leader(), leader);
  EXPECT_EQ(c.cluster().Node(leader)->counters().slow_disk_transfers, tried);
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

// A voter that is down cannot report a slow disk: the slow leader tries it,
// it does not take over, and the leader pauses, twice as long after each
// round that failed (10 s, 20 s, ...): proposals are held back an election
// timeout per round, less and less often. The slow voter is never tried.
TEST(StoreNodeSlowDisk, TheLeaderBacksOffWhenNoVoterTakesOver) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  const std::string slow_voter = c.FirstOtherThan(leader);
  const std::string down = c.Third(leader, slow_voter);
  c.Slow(slow_voter, 200);
  c.WriteSome(5);
  ASSERT_TRUE(c.cluster().Node(slow_voter)->slow_disk());
  c.cluster().Isolate(down, true);
  c.Slow(leader, 200);
  StoreNode* l = c.cluster().Node(leader);
  for (int i = 0; i < 100 && l->counters().slow_disk_transfers == 0; ++i) c.WriteSome(1);
  ASSERT_EQ(l->counters().slow_disk_transfers, 1u);
  // Rounds start at 0 s, ~10.5 s (a 10 s pause), ~31 s (20 s): two in 25 s.
  const int64_t start = c.cluster().clock().NowMillis();
  while (c.cluster().clock().NowMillis() - start < 25000) {
    c.WriteSome(1);
    ASSERT_EQ(c.cluster().Leader(), leader);
  }
  EXPECT_EQ(l->counters().slow_disk_transfers, 2u);
  while (c.cluster().clock().NowMillis() - start < 40000) c.WriteSome(1);
  EXPECT_EQ(l->counters().slow_disk_transfers, 3u);
  EXPECT_EQ(c.cluster().Node(slow_voter)->counters().slow_disk_refused_transfers, 0u);
  EXPECT_TRUE(c.cluster().Write(leader, SetCommand("still", "1")));
}

// Review (revsd): a slow member drops every TimeoutNow, also one from a
// healthy leader that must leave. A leader shutting down (SIGTERM, a rolling
// restart) whose followers are both slow then hands over to nobody: it stops
// as leader after its 1 s deadline, and the slow members campaign only three
// election timeouts after their own. Before the guard the transfer took a
// few milliseconds.
TEST(StoreNodeSlowDisk, AHealthyLeaderShuttingDownStillHandsOverToASlowVoter) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  for (const std::string& id : c.ids()) {
    if (id != leader) c.Slow(id, 200);
  }
  c.WriteSome(5);  // the followers' own fsyncs flag them
  for (const std::string& id : c.ids()) {
    if (id != leader) {
      ASSERT_TRUE(c.cluster().Node(id)->slow_disk()) << id;
    }
  }
  ASSERT_EQ(c.cluster().Leader(), leader);
  ASSERT_FALSE(c.cluster().Node(leader)->slow_disk());

  StoreNode* old = c.cluster().Node(leader);
  old->BeginShutdown();
  const int64_t start = c.cluster().clock().NowMillis();
  std::string next;
  while (!old->ShutdownDone()) {
    c.cluster().Tick();
    for (const std::string& id : c.ids()) {
      if (id != leader && c.cluster().Node(id)->IsLeader()) next = id;
    }
  }
  const int64_t done_ms = c.cluster().clock().NowMillis() - start;
  // The member stops: how long until the group has a leader again.
  c.cluster().Isolate(leader, true);
  int64_t led_ms = -1;
  for (int i = 0; i < 1000 && led_ms < 0; ++i) {
    for (const std::string& id : c.ids()) {
      if (id != leader && c.cluster().Node(id)->IsLeader()) {
        led_ms = c.cluster().clock().NowMillis() - start;
      }
    }
    if (led_ms < 0) c.cluster().Tick();
  }
  std::printf("shutdown done after %lld ms, a slow member leads %lld ms after BeginShutdown\n",
              static_cast<long long>(done_ms), static_cast<long long>(led_ms));
  EXPECT_FALSE(next.empty()) << "the leader stopped without handing over: no leader for " << led_ms
                             << " ms";
}

// Once a healthy leader shutting down handed over to a slow member, that
// member's own slow-disk hand-off must not go back to the one shutting down
// (the most up-to-date voter, reporting no slow disk): a member shutting
// down takes no transfer.
TEST(StoreNodeSlowDisk, AMemberShuttingDownTakesNoTransferBack) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  for (const std::string& id : c.ids()) {
    if (id != leader) c.Slow(id, 200);
  }
  c.WriteSome(5);
  StoreNode* old = c.cluster().Node(leader);
  old->BeginShutdown();
  for (int i = 0; i < 1000 && !old->ShutdownDone(); ++i) c.cluster().Tick();
  ASSERT_TRUE(old->ShutdownDone());
  const std::string next = c.cluster().Leader();
  ASSERT_FALSE(next.empty());
  ASSERT_NE(next, leader);
  ASSERT_TRUE(c.cluster().Node(next)->slow_disk());
  // The old member still runs (its process has not exited yet).
  for (int i = 0; i < 300; ++i) {
    c.WriteSome(1);
    ASSERT_FALSE(old->IsLeader()) << "after " << i << " writes";
  }
  EXPECT_GE(c.cluster().Node(next)->counters().slow_disk_transfers, 1u);
}

// Review (revsd): a leader under the NOSPACE alarm refuses every write and
// hands over; its followers are slow (they still fsync fine, only slowly),
// drop its TimeoutNow, and the group refuses writes with -NOSPACE until the
// followers' cooldown (10 s after their last slow fsync) runs out, though
// either follower could take writes (slowly) at once.
TEST(StoreNodeSlowDisk, ANoSpaceLeaderHandsOverToASlowVoterRatherThanRefusingWrites) {
  testing::TempDir dir;
  SlowDiskCluster c(dir.path());
  const std::string leader = c.ElectLeader();
  ASSERT_FALSE(leader.empty());
  for (const std::string& id : c.ids()) {
    if (id != leader) c.Slow(id, 200);
  }
  c.WriteSome(5);
  for (const std::string& id : c.ids()) {
    if (id != leader) {
      ASSERT_TRUE(c.cluster().Node(id)->slow_disk()) << id;
    }
  }
  c.Disk(leader)->set_full(true);
  const int64_t start = c.cluster().clock().NowMillis();
  int64_t moved_ms = -1;
  for (int i = 0; i < 3000 && moved_ms < 0; ++i) {
    c.cluster().Tick();
    const std::string now = c.cluster().Leader();
    if (!now.empty() && now != leader) moved_ms = c.cluster().clock().NowMillis() - start;
  }
  ASSERT_TRUE(c.cluster().Node(leader)->no_space());
  std::printf("NOSPACE leader: leadership moved after %lld ms\n", static_cast<long long>(moved_ms));
  EXPECT_GE(moved_ms, 0);
  // Within a few election timeouts (500 ms each), as with healthy followers.
  EXPECT_LT(moved_ms, 2000) << "writes refused with -NOSPACE for " << moved_ms << " ms";
}

}  // namespace
}  // namespace nines::store
