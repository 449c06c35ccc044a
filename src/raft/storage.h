// The stable (persisted) part of the log as the core sees it. The caller owns
// persistence: it writes what a Ready says to disk and then updates its Storage,
// so the core only ever reads from here. MemoryStorage is the in-memory version
// a caller keeps in front of its write-ahead log (and that tests use directly).
#pragma once

#include <optional>
#include <vector>

#include "raft/types.h"

namespace nines::raft {

struct InitialState {
  HardState hard_state;
  Membership membership;  // configuration of the latest snapshot
};

class Storage {
 public:
  virtual ~Storage() = default;
  virtual InitialState GetInitialState() const = 0;
  // Entries in [lo, hi), stopping after `max_bytes` (but at least one entry).
  // Requires FirstIndex() <= lo and hi <= LastIndex() + 1.
  virtual std::vector<Entry> Entries(Index lo, Index hi, uint64_t max_bytes) const = 0;
  // Term of entry `i` for FirstIndex()-1 <= i <= LastIndex(), else nullopt.
  virtual std::optional<Term> TermAt(Index i) const = 0;
  virtual Index FirstIndex() const = 0;  // first entry still in the log
  virtual Index LastIndex() const = 0;
  virtual Snapshot GetSnapshot() const = 0;  // latest snapshot, for lagging followers
};

class MemoryStorage : public Storage {
 public:
  // An empty log; `membership` is the bootstrap configuration (empty for a
  // node that will join an existing cluster).
  explicit MemoryStorage(Membership membership = {});

  InitialState GetInitialState() const override;
  std::vector<Entry> Entries(Index lo, Index hi, uint64_t max_bytes) const override;
  std::optional<Term> TermAt(Index i) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  Snapshot GetSnapshot() const override;

  void SetHardState(const HardState& hs);
  // Appends entries, replacing any existing suffix they overlap.
  void Append(const std::vector<Entry>& entries);
  // Replaces everything with a snapshot received from the leader.
  void ApplySnapshot(const Snapshot& snapshot);
  // Records a snapshot of the local state machine taken at `index` (<= commit).
  void CreateSnapshot(Index index, const Membership& membership, std::string data);
  // Drops entries up to and including `index` (<= the snapshot index).
  void Compact(Index index);

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  // entries_[0] is a dummy holding the index and term of the last compacted entry.
  std::vector<Entry> entries_;
};

}  // namespace nines::raft
