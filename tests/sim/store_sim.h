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
  bool gave_up = false;  // the linearizability search hit its step bound
};

// Runs one seed. trace, if set, receives one line per event.
StoreSimResult RunStoreSimulation(uint64_t seed, std::ostream* trace);

}  // namespace nines::sim
