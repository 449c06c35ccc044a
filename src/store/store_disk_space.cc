// A member's guard against a full disk, in the spirit of etcd's NOSPACE
// alarm (docs/store.md "When the disk fills"):
//  - the WAL's segments are at most a sixteenth of the disk (at least 1 MiB),
//    so that on a small disk they still roll and snapshots purge them;
//  - when the room left on the data directory's file system falls under a
//    reserve (two segments and the last snapshot: enough to roll the WAL and
//    write the next snapshot), the alarm is raised: the member refuses new
//    writes with -NOSPACE (certainly not applied), hands leadership to
//    another voter, stops taking log entries and snapshots from the leader
//    (dropped: the leader sends them again), and keeps serving what it has.
//    It stays up, and the alarm clears by itself once the room is back to
//    the reserve plus one segment.
// A write that still fails with ENOSPC (another program filled the disk
// between two checks) stops the member as any disk error does (crash-stop,
// nothing acknowledged); it recovers on restart.
#include <algorithm>

#include "base/log.h"
#include "store/store_node.h"

namespace nines::store {

namespace {

constexpr int64_t kDiskCheckMs = 100;
constexpr uint64_t kMinWalSegmentBytes = 1ull << 20;
constexpr uint64_t kDiskPerWalSegment = 16;

}  // namespace

void StoreNode::SizeWalSegments() {
  wal_segment_bytes_ = config_.wal_segment_bytes;
  DiskSpace space;
  if (!fs_->Space(config_.data_dir, &space).ok() || space.total_bytes == 0) return;
  const uint64_t cap = std::max(kMinWalSegmentBytes, space.total_bytes / kDiskPerWalSegment);
  if (cap < wal_segment_bytes_) {
    LogInfo("store", "{}: a disk of {} bytes: WAL segments of {} bytes (wal_segment_bytes {})",
            config_.data_dir, space.total_bytes, cap, wal_segment_bytes_);
    wal_segment_bytes_ = cap;
  }
}

uint64_t StoreNode::DiskReserveBytes() const {
  return 2 * wal_segment_bytes_ + last_snapshot_bytes_;
}

void StoreNode::CheckDiskSpace() {
  const int64_t now = NowMs();
  if (now < next_disk_check_ms_) return;
  next_disk_check_ms_ = now + kDiskCheckMs;
  DiskSpace space;
  Status s = fs_->Space(config_.data_dir, &space);
  if (!s.ok()) return;  // unknown: the alarm stays as it is
  const uint64_t reserve = DiskReserveBytes();
  if (!no_space_ && space.free_bytes < reserve) {
    no_space_ = true;
    ++counters_.no_space_alarms;
    LogWarn("store",
            "NOSPACE: {} bytes free in {}, under the reserve of {}: refusing writes and not "
            "taking log entries until space returns",
            space.free_bytes, config_.data_dir, reserve);
  } else if (no_space_ && space.free_bytes >= reserve + wal_segment_bytes_) {
    no_space_ = false;
    LogInfo("store", "NOSPACE cleared: {} bytes free in {}", space.free_bytes, config_.data_dir);
  }
  // A leader that cannot log hands over to a voter that can: one attempt at
  // a time (Raft aborts one that has not finished in an election timeout).
  // A voter that did not take over (down, or out of space too: it drops
  // TimeoutNow) is passed over until every other voter has been tried: with
  // no writes every match stays equal, and the most up-to-date voter would
  // be the same one at every attempt.
  if (!no_space_ || !IsLeader()) no_space_tried_.clear();
  if (no_space_ && IsLeader() && raft_->membership().voters.size() > 1 &&
      raft_->lead_transferee() == raft::kNoNode) {
    raft::NodeId to = HandOff("", no_space_tried_);
    if (to == raft::kNoNode && !no_space_tried_.empty()) {
      no_space_tried_.clear();  // each was tried once: round again
      to = HandOff("", no_space_tried_);
    }
    if (to != raft::kNoNode) {
      no_space_tried_.insert(to);
      LogInfo("store", "NOSPACE: handing leadership to {}", directory_.ByRaftId(to)->id);
    }
  }
}

bool StoreNode::NeedsDiskSpace(const raft::Message& m) {
  switch (m.type) {
    case raft::MessageType::kAppend:
      return !m.entries.empty();
    case raft::MessageType::kSnapshot:
    case raft::MessageType::kTimeoutNow:  // would make this member lead
      return true;
    default:
      return false;
  }
}

}  // namespace nines::store
