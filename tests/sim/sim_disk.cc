// SimDisk: durable state plus at most one unsynced write.
#include "sim_disk.h"

namespace nines::sim {

void SimDisk::ApplySnapshot(const raft::Snapshot& s) {
  durable_.snapshot = s;
  durable_.entries.clear();
}

void SimDisk::ApplyEntries(const std::vector<raft::Entry>& entries) {
  if (entries.empty()) return;
  auto& log = durable_.entries;
  raft::Index first = entries.front().index;
  while (!log.empty() && log.back().index >= first) log.pop_back();
  if (!log.empty()) NINES_RAFT_ASSERT(log.back().index + 1 == first);
  log.insert(log.end(), entries.begin(), entries.end());
}

void SimDisk::Sync() {
  if (!pending_) return;
  if (pending_->snapshot) ApplySnapshot(*pending_->snapshot);
  ApplyEntries(pending_->entries);
  if (pending_->hard_state) durable_.hard_state = *pending_->hard_state;
  pending_.reset();
}

std::pair<size_t, size_t> SimDisk::Crash(Prng& prng) {
  if (!pending_) return {0, 0};
  DiskWrite w = std::move(*pending_);
  pending_.reset();
  size_t total = (w.snapshot ? 1 : 0) + w.entries.size() + (w.hard_state ? 1 : 0);
  size_t keep = prng.Below(total + 1);
  size_t left = keep;
  if (w.snapshot && left > 0) {
    ApplySnapshot(*w.snapshot);
    --left;
  } else if (w.snapshot) {
    return {0, total};
  }
  size_t n = std::min(left, w.entries.size());
  ApplyEntries(std::vector<raft::Entry>(w.entries.begin(), w.entries.begin() + n));
  left -= n;
  if (w.hard_state && left > 0) durable_.hard_state = *w.hard_state;
  return {keep, total};
}

void SimDisk::SaveSnapshot(const raft::Snapshot& snapshot, raft::Index compact_to) {
  NINES_RAFT_ASSERT(!pending_);
  durable_.snapshot = snapshot;
  auto& log = durable_.entries;
  size_t drop = 0;
  while (drop < log.size() && log[drop].index <= compact_to) ++drop;
  log.erase(log.begin(), log.begin() + drop);
}

}  // namespace nines::sim
