// The leader's view of one follower's replication: how much of the log it
// has (match), what to send next, and how many append messages may be in
// flight at once (a bounded window, so a slow follower cannot grow memory).
#pragma once

#include <cstddef>
#include <vector>

#include "raft/types.h"

namespace nines::raft {

// Ring of the last index of each in-flight append; full = stop sending.
class Inflights {
 public:
  explicit Inflights(size_t capacity);
  void Add(Index last_index);
  // Frees every in-flight message whose last index is <= `index`.
  void FreeLE(Index index);
  void Reset() { start_ = count_ = 0; }
  bool Full() const { return count_ == buffer_.size(); }
  size_t Count() const { return count_; }

 private:
  std::vector<Index> buffer_;
  size_t start_ = 0;
  size_t count_ = 0;
};

enum class ProgressState : uint8_t {
  kProbe = 0,      // one append at a time until the follower's log position is found
  kReplicate = 1,  // pipelined appends within the inflight window
  kSnapshot = 2,   // a snapshot is on its way; nothing else is sent
};
const char* ProgressStateName(ProgressState state);

struct ReplicationProgress {
  explicit ReplicationProgress(size_t max_inflight) : inflights(max_inflight) {}

  Index match = 0;
  Index next = 1;
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;     // kProbe: an append is outstanding
  Index pending_snapshot = 0;  // kSnapshot: index of the snapshot sent
  int snapshot_ticks = 0;      // kSnapshot: ticks since it was sent
  bool recent_active = false;  // heard from since the last CheckQuorum
  Inflights inflights;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);
  // Acknowledgement of `index`; returns true if match moved.
  bool MaybeUpdate(Index index);
  // Pipelining: assume the append up to `last` will arrive.
  void OptimisticUpdate(Index last) { next = last + 1; }
  // A rejected append at `rejected` with the follower's hint; returns false if stale.
  bool MaybeDecreaseTo(Index rejected, Index hint);
  bool IsPaused() const;
};

}  // namespace nines::raft
