// A member's own snapshots, taken without stalling its Raft loop (docs/store.md,
// "Snapshots"): every snapshot_entries applied entries a SnapshotJob is
// started on the SnapshotRunner (a forked child in a real member), which
// serializes a point-in-time view of the state and writes the file durably
// (temp file, fsync, rename, directory fsync). The loop goes on committing.
// Only once the job reports success does the loop record the snapshot, in
// this order, each step durable before the next:
//   1. the 'C' marker in the WAL, fsynced: from now on recovery may use the
//      file (a file without a marker is ignored);
//   2. compaction of the in-memory log and deletion of the WAL segments the
//      snapshot covers;
//   3. removal of older snapshot files and unmarked leftovers.
// A crash at any point before 1 recovers from the previous snapshot and the
// WAL, which still holds every entry. A failed job (disk full) changes
// nothing and is retried after kSnapshotRetryMs. A snapshot received from
// the leader is written and marked ('S') with its Ready; the same cleanup
// follows (DropReplacedBy), or a follower that keeps receiving snapshots
// would keep every file.
#include <fmt/format.h>

#include "base/coding.h"
#include "base/log.h"
#include "store/snapshot_file.h"
#include "store/store_node.h"

namespace nines::store {

namespace {

constexpr uint64_t kRetainedEntries = 1000;  // kept after a snapshot for slow followers
constexpr int64_t kSnapshotRetryMs = 1000;   // after a failed snapshot
constexpr uint64_t kMaxSnapshotSendBytes = 8ull << 30;

}  // namespace

void StoreNode::MaybeSnapshot() {
  PollSnapshot();
  if (snapshot_in_progress_ || applied_ < last_snapshot_index_ + config_.snapshot_entries) return;
  if (NowMs() < next_snapshot_attempt_ms_) return;
  std::optional<raft::Term> term = storage_.TermAt(applied_);
  if (!term || applied_ > storage_.LastIndex()) return;
  const SnapshotMeta meta{applied_, *term};
  SnapshotJob job;
  // Runs in the forked child (its copy of the state is the view at the
  // fork), or at once in the loop for the in-process runners.
  job.serialize = [this] { return SnapshotContent(); };
  job.write = [fs = fs_, dir = snap_dir_, meta](std::string_view content) {
    return WriteSnapshot(fs, dir, meta, content);
  };
  snapshot_in_progress_ = SnapshotInProgress{meta, applied_membership_};
  ++counters_.snapshots_started;
  Status s = snapshot_runner_->Start(std::move(job));
  if (!s.ok()) {
    snapshot_in_progress_.reset();
    ++counters_.snapshot_failures;
    next_snapshot_attempt_ms_ = NowMs() + kSnapshotRetryMs;
    LogWarn("store", "starting a snapshot at index {} failed: {}; retrying in {} ms", meta.index,
            s.ToString(), kSnapshotRetryMs);
    return;
  }
  PollSnapshot();  // an inline runner has finished already
}

void StoreNode::PollSnapshot() {
  if (!snapshot_in_progress_) return;
  std::optional<Status> outcome = snapshot_runner_->Poll();
  if (!outcome) return;
  SnapshotInProgress done = std::move(*snapshot_in_progress_);
  snapshot_in_progress_.reset();
  if (!outcome->ok()) {
    // Nothing was recorded: the WAL still holds every entry, the previous
    // snapshot stays the one recovery uses; a *.tmp left behind is removed
    // by the next snapshot's cleanup.
    ++counters_.snapshot_failures;
    next_snapshot_attempt_ms_ = NowMs() + kSnapshotRetryMs;
    LogWarn("store", "snapshot at index {} failed: {}; retrying in {} ms", done.meta.index,
            outcome->ToString(), kSnapshotRetryMs);
    return;
  }
  RecordSnapshot(done.meta, done.membership);
}

void StoreNode::RecordSnapshot(const SnapshotMeta& meta, const raft::Membership& membership) {
  // A snapshot installed from the leader while this one was being written
  // replaced it (and the log under it): its file never gets a marker.
  if (meta.index <= last_snapshot_index_) {
    LogInfo("store", "snapshot at index {} superseded by snapshot {} while it was written",
            meta.index, last_snapshot_index_);
    return;
  }
  // Committed entries never change, so the entry is still there with its term.
  std::optional<raft::Term> term = storage_.TermAt(meta.index);
  if (!term || *term != meta.term) {
    Fatal(Status::Corruption(fmt::format("snapshot at index {} term {}: the log now has term {}",
                                         meta.index, meta.term, term ? *term : 0)),
          "recording a snapshot");
  }
  // 1. The marker makes the file usable at recovery; durable before
  // compaction deletes the segments it replaces.
  std::string marker = "C";
  PutFixed64(&marker, meta.index);
  PutFixed64(&marker, meta.term);
  Status s = wal_->Append(meta.index, marker);
  if (s.ok()) s = wal_->Sync();
  if (!s.ok()) Fatal(s, "writing a snapshot marker to the WAL");
  // 2. Compaction. The storage keeps the meta only: the content is sent
  // from the file.
  storage_.CreateSnapshot(meta.index, membership, std::string());
  if (meta.index > kRetainedEntries) storage_.Compact(meta.index - kRetainedEntries);
  s = wal_->Compact(meta.index);
  if (!s.ok()) LogWarn("store", "WAL compaction failed: {}", s.ToString());
  // 3. Older files and leftovers.
  s = RemoveOldSnapshots(fs_, snap_dir_, meta, 2);
  if (!s.ok()) LogWarn("store", "removing old snapshots failed: {}", s.ToString());
  last_snapshot_index_ = meta.index;
  last_snapshot_bytes_ = state_.memory_bytes();  // about the next one's size (the disk reserve)
  ++counters_.snapshots;
  LogInfo("store", "snapshot at index {} (term {})", meta.index, meta.term);
}

void StoreNode::DropReplacedBy(const SnapshotMeta& meta) {
  // A job of this member's own, older than the snapshot, would never be
  // recorded; its child stops now (the cleanup below removes its .tmp).
  if (snapshot_in_progress_) {
    snapshot_runner_->Abandon();
    snapshot_in_progress_.reset();
  }
  // The 'S' marker is durable with the Ready, but when the Ready was written
  // in pieces it may sit in a segment that holds nothing past the snapshot,
  // which compaction deletes: a 'C' marker in the active segment (never
  // deleted) keeps the file usable at recovery whatever compaction removes.
  std::string marker = "C";
  PutFixed64(&marker, meta.index);
  PutFixed64(&marker, meta.term);
  Status s = wal_->Append(meta.index, marker);
  if (s.ok()) s = wal_->Sync();
  if (!s.ok()) Fatal(s, "writing a snapshot marker to the WAL");
  s = wal_->Compact(meta.index);
  if (!s.ok()) LogWarn("store", "WAL compaction failed: {}", s.ToString());
  s = RemoveOldSnapshots(fs_, snap_dir_, meta, 2);
  if (!s.ok()) LogWarn("store", "removing old snapshots failed: {}", s.ToString());
}

void StoreNode::Send(const raft::Message& m) {
  if (m.type != raft::MessageType::kSnapshot || !m.snapshot.data.empty() ||
      env_.snapshots_sent_from_files) {
    env_.send(m);
    return;
  }
  raft::Message full = m;
  SnapshotMeta meta;
  const std::string path = JoinPath(
      snap_dir_, SnapshotFileName(SnapshotMeta{m.snapshot.meta.index, m.snapshot.meta.term}));
  Status s = LoadSnapshot(fs_, path, kMaxSnapshotSendBytes, &meta, &full.snapshot.data);
  if (!s.ok()) {
    // Raft sends it again later; the member goes on.
    LogWarn("store", "cannot send snapshot {}: {}", path, s.ToString());
    return;
  }
  env_.send(full);
}

}  // namespace nines::store
