// The Raft log as the core sees it: the stable part in Storage plus an
// unstable tail (entries and possibly a snapshot) not yet persisted by the
// caller. Also tracks the commit and applied indexes.
#pragma once

#include <optional>
#include <vector>

#include "raft/storage.h"
#include "raft/types.h"

namespace nines::raft {

class RaftLog {
 public:
  RaftLog(const Storage* storage, Index applied);

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  // Term of entry i, or nullopt when compacted away or beyond the end.
  std::optional<Term> TermAt(Index i) const;
  bool MatchTerm(Index i, Term t) const;
  bool IsUpToDate(Index last_index, Term last_term) const;

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  // Last index the caller has persisted (unstable entries are above it).
  Index StableLastIndex() const;

  // Follower side of kAppend: appends if (index, log_term) matches and
  // returns the last new index; nullopt on mismatch.
  std::optional<Index> MaybeAppend(Index index, Term log_term, Index leader_commit,
                                   const std::vector<Entry>& entries, Index* first_changed);
  // Appends at the end or over an uncommitted suffix; returns the new last index.
  Index Append(const std::vector<Entry>& entries);
  // Largest index <= `index` whose term is <= `term` (fast back-off hint).
  Index FindConflictByTerm(Index index, Term term) const;

  void CommitTo(Index index);
  // Leader commit rule: only an entry of the current term commits by counting.
  bool MaybeCommit(Index index, Term term);
  void AppliedTo(Index index);

  // Entries in [lo, hi) up to `max_bytes` (at least one). Empty if lo == hi.
  // nullopt when lo is compacted.
  std::optional<std::vector<Entry>> Slice(Index lo, Index hi, uint64_t max_bytes) const;
  // Committed, not yet applied entries (up to max_bytes).
  std::vector<Entry> NextCommittedEntries(uint64_t max_bytes) const;
  bool HasNextCommittedEntries() const;

  // Unstable part, for Ready.
  const std::vector<Entry>& UnstableEntries() const { return unstable_entries_; }
  const std::optional<Snapshot>& UnstableSnapshot() const { return unstable_snapshot_; }
  void StableTo(Index index, Term term);
  void StableSnapshotTo(Index index);
  // Replaces the log with a snapshot (follower install).
  void Restore(const Snapshot& snapshot);

 private:
  std::optional<Term> UnstableTerm(Index i) const;
  Index FindConflict(const std::vector<Entry>& entries) const;

  const Storage* storage_;
  std::optional<Snapshot> unstable_snapshot_;
  std::vector<Entry> unstable_entries_;
  Index unstable_offset_;  // index of unstable_entries_[0]
  Index committed_;
  Index applied_;
};

}  // namespace nines::raft
