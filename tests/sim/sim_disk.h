// A simulated disk for one node: what has been fsynced survives a crash; of
// the write in progress, only a prefix of its records survives (the last one
// possibly torn, which the WAL reader discards, so it counts as lost).
#pragma once

#include <optional>
#include <vector>

#include "prng.h"
#include "raft/types.h"

namespace nines::sim {

struct DiskState {
  raft::HardState hard_state;
  raft::Snapshot snapshot;
  std::vector<raft::Entry> entries;  // contiguous; may start below snapshot.index + 1
};

// One Ready's worth of records, written in WAL order: snapshot, entries, hard state.
struct DiskWrite {
  std::optional<raft::Snapshot> snapshot;
  std::vector<raft::Entry> entries;
  std::optional<raft::HardState> hard_state;
};

class SimDisk {
 public:
  explicit SimDisk(raft::Membership bootstrap) { durable_.snapshot.meta.membership = bootstrap; }

  void Write(DiskWrite w) { pending_ = std::move(w); }
  void Sync();
  // Crash: keeps a random prefix of the unsynced records. Returns how many of
  // them survived and how many there were.
  std::pair<size_t, size_t> Crash(Prng& prng);
  // A local snapshot (written atomically beside the log), then compaction.
  void SaveSnapshot(const raft::Snapshot& snapshot, raft::Index compact_to);
  const DiskState& durable() const { return durable_; }

 private:
  void ApplySnapshot(const raft::Snapshot& s);
  void ApplyEntries(const std::vector<raft::Entry>& entries);

  DiskState durable_;
  std::optional<DiskWrite> pending_;
};

}  // namespace nines::sim
