// MemoryStorage: the stable log kept in memory with a dummy first entry that
// records where compaction stopped.
#include "raft/storage.h"

namespace nines::raft {

MemoryStorage::MemoryStorage(Membership membership) {
  snapshot_.meta.membership = std::move(membership);
  entries_.push_back(Entry{});
}

InitialState MemoryStorage::GetInitialState() const {
  return InitialState{hard_state_, snapshot_.meta.membership};
}

Index MemoryStorage::FirstIndex() const {
  return entries_.front().index + 1;
}
Index MemoryStorage::LastIndex() const {
  return entries_.front().index + entries_.size() - 1;
}

std::optional<Term> MemoryStorage::TermAt(Index i) const {
  Index offset = entries_.front().index;
  if (i < offset || i > LastIndex()) return std::nullopt;
  return entries_[i - offset].term;
}

std::vector<Entry> MemoryStorage::Entries(Index lo, Index hi, uint64_t max_bytes) const {
  NINES_RAFT_ASSERT(lo >= FirstIndex() && hi <= LastIndex() + 1 && lo <= hi);
  Index offset = entries_.front().index;
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset];
    bytes += EntrySize(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Snapshot MemoryStorage::GetSnapshot() const {
  return snapshot_;
}

void MemoryStorage::SetHardState(const HardState& hs) {
  hard_state_ = hs;
}

void MemoryStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  Index first = FirstIndex();
  Index last_new = entries.back().index;
  if (last_new < first) return;  // everything already compacted
  size_t skip = entries.front().index < first ? first - entries.front().index : 0;
  Index start = entries[skip].index;
  NINES_RAFT_ASSERT(start <= LastIndex() + 1);
  Index offset = entries_.front().index;
  entries_.resize(start - offset);
  for (size_t i = skip; i < entries.size(); ++i) {
    NINES_RAFT_ASSERT(entries[i].index == entries_.back().index + 1);
    entries_.push_back(entries[i]);
  }
}

void MemoryStorage::ApplySnapshot(const Snapshot& snapshot) {
  NINES_RAFT_ASSERT(snapshot.meta.index >= snapshot_.meta.index);
  snapshot_ = snapshot;
  entries_.clear();
  entries_.push_back(Entry{snapshot.meta.term, snapshot.meta.index, EntryType::kNormal, {}});
}

void MemoryStorage::CreateSnapshot(Index index, const Membership& membership, std::string data) {
  if (index <= snapshot_.meta.index) return;
  NINES_RAFT_ASSERT(index <= LastIndex());
  NINES_RAFT_ASSERT(index <= hard_state_.commit);
  snapshot_.meta.index = index;
  snapshot_.meta.term = *TermAt(index);
  snapshot_.meta.membership = membership;
  snapshot_.data = std::move(data);
}

void MemoryStorage::Compact(Index index) {
  Index offset = entries_.front().index;
  if (index <= offset) return;
  NINES_RAFT_ASSERT(index <= LastIndex());
  NINES_RAFT_ASSERT(index <= snapshot_.meta.index);
  entries_.erase(entries_.begin(), entries_.begin() + (index - offset));
  entries_.front().data.clear();
}

}  // namespace nines::raft
