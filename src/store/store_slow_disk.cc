// A member's guard against a slow disk, after TiKV's slow score and its
// evict-slow-store-leader scheduler (docs/store.md "When the disk is slow"):
//  - every WAL fsync of the append path is timed on the member's monotonic
//    clock (the injectable Clock) into a histogram (etcd's
//    wal_fsync_duration_seconds) and into a SlowFsyncDetector;
//  - after slow_fsync_count consecutive fsyncs of at least slow_fsync_ms the
//    disk is flagged slow until slow_fsync_cooldown_ms after the last slow one;
//  - a leader with a slow disk hands leadership to the most up-to-date voter
//    through Raft's leadership transfer, one attempt at a time, each voter in
//    turn (the NOSPACE alarm's path, store_disk_space.cc); when every voter
//    was tried and none took over (all slow, or down) it pauses a cooldown
//    before the next round: each attempt holds proposals back for up to an
//    election timeout, which must not become the common case;
//  - a member with a slow disk drops TimeoutNow (it takes no transfer) and
//    campaigns only a few election timeouts after a healthy member would, so
//    leadership does not come back to it while a healthy voter can lead, and
//    a group whose members are all slow still elects one.
#include <algorithm>

#include "base/log.h"
#include "store/store_node.h"

namespace nines::store {

namespace {

// Election timeouts a slow member waits past its own before it campaigns.
constexpr int kSlowCampaignDelayElections = 3;

}  // namespace

std::vector<double> StoreNode::FsyncBuckets() {
  // etcd's wal_fsync_duration_seconds: 1 ms to 8.192 s, doubling.
  std::vector<double> bounds;
  for (double b = 0.001; b < 10; b *= 2) bounds.push_back(b);
  return bounds;
}

Status StoreNode::SyncWal() {
  const int64_t start = env_.clock->NowNanos();
  Status s = wal_->Sync();
  const int64_t end = env_.clock->NowNanos();
  const int64_t nanos = std::max<int64_t>(end - start, 0);  // a clock step back: 0
  wal_fsync_seconds_.Observe(static_cast<double>(nanos) / 1e9);
  last_fsync_ms_ = nanos / 1'000'000;
  if (slow_fsync_.Observe(last_fsync_ms_, end / 1'000'000)) {
    slow_disk_raised_ = true;  // Drain calls CheckSlowDisk once the Ready is done
    LogWarn("store", "slow disk: {} consecutive WAL fsyncs took {} ms or more (the last {} ms){}",
            slow_fsync_.consecutive_slow(), config_.slow_fsync_ms, last_fsync_ms_,
            IsLeader() && raft_->membership().voters.size() > 1
                ? "; handing leadership to another voter"
                : "");
  }
  return s;
}

void StoreNode::CheckSlowDisk() {
  const int64_t now = NowMs();
  const bool slow = slow_fsync_.Slow(now);
  if (slow != slow_disk_) {
    slow_disk_ = slow;
    if (!slow)
      LogInfo("store", "slow disk cleared: no persistently slow WAL fsync for {} ms",
              config_.slow_fsync_cooldown_ms);
    const int ticks = std::max(1, config_.election_ms / std::max(1, config_.tick_ms));
    raft_->set_campaign_delay_ticks(slow ? kSlowCampaignDelayElections * ticks : 0);
  }
  // A pause never outlasts a cooldown from now (were the clock to step back).
  slow_disk_pause_until_ = std::min(slow_disk_pause_until_, now + config_.slow_fsync_cooldown_ms);
  if (!slow_disk_ || !IsLeader()) {
    slow_disk_tried_.clear();
    return;
  }
  if (raft_->membership().voters.size() <= 1 || raft_->lead_transferee() != raft::kNoNode ||
      now < slow_disk_pause_until_ || shutting_down_) {
    return;
  }
  raft::NodeId to = HandOff("", slow_disk_tried_);
  if (to == raft::kNoNode && !slow_disk_tried_.empty()) {
    // Every voter was tried once and this member still leads: they are slow
    // too (they drop TimeoutNow) or down. Keep leading; try again later.
    slow_disk_tried_.clear();
    slow_disk_pause_until_ = now + config_.slow_fsync_cooldown_ms;
    LogWarn("store", "slow disk: no voter took leadership; trying again in {} ms",
            config_.slow_fsync_cooldown_ms);
    return;
  }
  if (to != raft::kNoNode) {
    slow_disk_tried_.insert(to);
    ++counters_.slow_disk_transfers;
    LogWarn("store", "slow disk: handing leadership to {}", directory_.ByRaftId(to)->id);
  }
}

}  // namespace nines::store
