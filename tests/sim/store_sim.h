// Whole store members in one thread (nines_sim_store): several real
// StoreNodes (WAL, snapshot files, replay, apply, read batching, membership
// code) over a simulated disk (SimFs) and network (SimNetwork), with member
// crashes and restarts, and clients that retry the way Redis clients do. One
// seed decides everything, so any failure replays exactly. docs/raft.md,
// "Whole store members".
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace nines::sim {

struct StoreSimResult {
  std::vector<std::string> violations;
  uint64_t ops = 0;            // client operations in the history
  uint64_t indeterminate = 0;  // writes whose outcome the client never learned
  uint64_t crashes = 0;        // member crashes (kills, power cuts, disk errors)
  uint64_t partitions = 0;
  uint64_t slow_disks = 0;           // times a member's disk turned slow (--slow-disks)
  uint64_t slow_disk_transfers = 0;  // hand-offs the slow-disk guard started
  bool gave_up = false;              // the linearizability search hit its step bound
  bool scripted = false;             // ran the scripted truncate-below-snapshot scenario
  bool scripted_crash = false;       // ...and reached its crash point
};

// Seeds that run the scripted scenario instead of random faults (every 100th).
inline bool ScriptedSeed(uint64_t seed) {
  return seed % 100 == 0;
}

// Runs one seed. trace, if set, receives one line per event. scripted (or
// ScriptedSeed(seed)) runs the "truncate below the snapshot" scenario: the
// leader A, isolated, gathers a long uncommitted tail; B commits fewer
// entries; after the heal B's append truncates A, A snapshots at the end of
// B's entries (below its old tail) and loses power before the next append.
// slow_disks: members' disks turn slow and fast again at random (every
// file fsync of a slow one lets 100-300 ms of simulated time pass), which
// drives the slow-disk guard (docs/store.md "When the disk is slow"). Off by
// default: it changes the schedules the planted-bug seeds were chosen for.
StoreSimResult RunStoreSimulation(uint64_t seed, std::ostream* trace, bool scripted = false,
                                  bool slow_disks = false);

}  // namespace nines::sim
