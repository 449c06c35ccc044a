// ReplicationProgress state transitions and the inflight window.
#include "raft/progress.h"

#include <algorithm>

namespace nines::raft {

Inflights::Inflights(size_t capacity) : buffer_(capacity) {
  NINES_RAFT_ASSERT(capacity > 0);
}

void Inflights::Add(Index last_index) {
  NINES_RAFT_ASSERT(!Full());
  buffer_[(start_ + count_) % buffer_.size()] = last_index;
  ++count_;
}

void Inflights::FreeLE(Index index) {
  while (count_ > 0 && buffer_[start_] <= index) {
    start_ = (start_ + 1) % buffer_.size();
    --count_;
  }
}

const char* ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "?";
}

void ReplicationProgress::BecomeProbe() {
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
}

void ReplicationProgress::BecomeReplicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
}

void ReplicationProgress::BecomeSnapshot(Index snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  snapshot_ticks = 0;
  probe_sent = false;
  inflights.Reset();
}

bool ReplicationProgress::MaybeUpdate(Index index) {
  bool updated = false;
  if (match < index) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

bool ReplicationProgress::MaybeDecreaseTo(Index rejected, Index hint) {
  if (state == ProgressState::kReplicate) {
    // Stale unless it rejects the append right after what we know matches.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  if (next - 1 != rejected) return false;  // stale: not the probe we sent
  next = std::max<Index>(std::min(rejected, hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool ReplicationProgress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

}  // namespace nines::raft
