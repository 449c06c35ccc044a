// RaftLog: stable entries from Storage plus the unstable tail; commit rules.
#include "raft/log.h"

#include <algorithm>

namespace nines::raft {

RaftLog::RaftLog(const Storage* storage, Index applied) : storage_(storage) {
  unstable_offset_ = storage_->LastIndex() + 1;
  committed_ = storage_->FirstIndex() - 1;
  applied_ = std::max(applied, committed_);
}

Index RaftLog::FirstIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->meta.index + 1;
  return storage_->FirstIndex();
}

Index RaftLog::LastIndex() const {
  if (!unstable_entries_.empty()) return unstable_offset_ + unstable_entries_.size() - 1;
  if (unstable_snapshot_) return unstable_snapshot_->meta.index;
  return storage_->LastIndex();
}

Index RaftLog::StableLastIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->meta.index;  // nothing past it is stable
  return unstable_offset_ - 1;
}

std::optional<Term> RaftLog::UnstableTerm(Index i) const {
  if (i >= unstable_offset_ && i < unstable_offset_ + unstable_entries_.size()) {
    return unstable_entries_[i - unstable_offset_].term;
  }
  if (unstable_snapshot_ && i == unstable_snapshot_->meta.index) {
    return unstable_snapshot_->meta.term;
  }
  return std::nullopt;
}

std::optional<Term> RaftLog::TermAt(Index i) const {
  if (i + 1 < FirstIndex() || i > LastIndex()) return std::nullopt;
  if (auto t = UnstableTerm(i)) return t;
  if (unstable_snapshot_) return std::nullopt;  // below the unstable snapshot: gone
  return storage_->TermAt(i);
}

Term RaftLog::LastTerm() const {
  auto t = TermAt(LastIndex());
  NINES_RAFT_ASSERT(t.has_value());
  return *t;
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  auto term = TermAt(i);
  return term && *term == t;
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  Term mine = LastTerm();
  return last_term > mine || (last_term == mine && last_index >= LastIndex());
}

Index RaftLog::FindConflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!MatchTerm(e.index, e.term)) return e.index;
  }
  return 0;
}

std::optional<Index> RaftLog::MaybeAppend(Index index, Term log_term, Index leader_commit,
                                          const std::vector<Entry>& entries, Index* first_changed) {
  *first_changed = 0;
  if (!MatchTerm(index, log_term)) return std::nullopt;
  Index last_new = index + entries.size();
  Index conflict = FindConflict(entries);
  if (conflict != 0) {
    // A conflicting or new entry: never rewrite what is committed.
    NINES_RAFT_ASSERT(conflict > committed_);
    std::vector<Entry> tail(entries.begin() + (conflict - (index + 1)), entries.end());
    Append(tail);
    *first_changed = conflict;
  }
  CommitTo(std::min(leader_commit, last_new));
  return last_new;
}

Index RaftLog::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return LastIndex();
  Index after = entries.front().index;
  NINES_RAFT_ASSERT(after > committed_);
  NINES_RAFT_ASSERT(after <= LastIndex() + 1);
  for (size_t i = 1; i < entries.size(); ++i) {
    NINES_RAFT_ASSERT(entries[i].index == entries[i - 1].index + 1);
  }
  if (after == unstable_offset_ + unstable_entries_.size()) {
    unstable_entries_.insert(unstable_entries_.end(), entries.begin(), entries.end());
  } else if (after <= unstable_offset_) {
    // Replaces part of the stable log: the caller truncates storage on persist.
    unstable_offset_ = after;
    unstable_entries_ = entries;
  } else {
    unstable_entries_.resize(after - unstable_offset_);
    unstable_entries_.insert(unstable_entries_.end(), entries.begin(), entries.end());
  }
  return LastIndex();
}

Index RaftLog::FindConflictByTerm(Index index, Term term) const {
  for (Index i = index;; --i) {
    auto t = TermAt(i);
    if (!t || *t <= term || i == 0) return i;  // compacted: no better hint
  }
}

void RaftLog::CommitTo(Index index) {
  if (index <= committed_) return;
  NINES_RAFT_ASSERT(index <= LastIndex());
  committed_ = index;
}

bool RaftLog::MaybeCommit(Index index, Term term) {
  if (index > committed_ && TermAt(index) == term) {
    CommitTo(index);
    return true;
  }
  return false;
}

void RaftLog::AppliedTo(Index index) {
  if (index == 0) return;
  NINES_RAFT_ASSERT(index >= applied_);
#if NINES_RAFT_PLANT != 3
  NINES_RAFT_ASSERT(index <= committed_);
#endif
  applied_ = index;
}

std::optional<std::vector<Entry>> RaftLog::Slice(Index lo, Index hi, uint64_t max_bytes) const {
  NINES_RAFT_ASSERT(lo <= hi && hi <= LastIndex() + 1);
  if (lo < FirstIndex()) return std::nullopt;
  std::vector<Entry> out;
  if (lo == hi) return out;
  if (lo < unstable_offset_ && !unstable_snapshot_) {
    Index stable_hi = std::min(hi, unstable_offset_);
    out = storage_->Entries(lo, stable_hi, max_bytes);
    if (out.size() < stable_hi - lo) return out;  // size limit reached in storage
    lo = stable_hi;
  }
  uint64_t bytes = 0;
  for (const Entry& e : out) bytes += EntrySize(e);
  for (Index i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const Entry& e = unstable_entries_[i - unstable_offset_];
    bytes += EntrySize(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

std::vector<Entry> RaftLog::NextCommittedEntries(uint64_t max_bytes) const {
  Index lo = std::max(applied_ + 1, FirstIndex());
#if NINES_RAFT_PLANT == 3
  Index hi = LastIndex();  // planted bug: apply before commit
#else
  Index hi = committed_;
#endif
  if (lo > hi) return {};
  auto ents = Slice(lo, hi + 1, max_bytes);
  NINES_RAFT_ASSERT(ents.has_value());
  return *ents;
}

bool RaftLog::HasNextCommittedEntries() const {
#if NINES_RAFT_PLANT == 3
  return std::max(applied_ + 1, FirstIndex()) <= LastIndex();
#else
  return std::max(applied_ + 1, FirstIndex()) <= committed_;
#endif
}

void RaftLog::StableTo(Index index, Term term) {
  auto t = UnstableTerm(index);
  if (!t || *t != term || index < unstable_offset_) return;  // replaced meanwhile
  unstable_entries_.erase(unstable_entries_.begin(),
                          unstable_entries_.begin() + (index - unstable_offset_ + 1));
  unstable_offset_ = index + 1;
}

void RaftLog::StableSnapshotTo(Index index) {
  if (unstable_snapshot_ && unstable_snapshot_->meta.index == index) unstable_snapshot_.reset();
}

void RaftLog::Restore(const Snapshot& snapshot) {
  NINES_RAFT_ASSERT(snapshot.meta.index >= committed_);
  committed_ = snapshot.meta.index;
  unstable_snapshot_ = snapshot;
  unstable_entries_.clear();
  unstable_offset_ = snapshot.meta.index + 1;
}

}  // namespace nines::raft
