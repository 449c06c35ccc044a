// One seeded run of a whole Raft cluster in one process: simulated clock,
// network, disks, crashes, clients and membership changes, with the safety
// checkers watching. Same seed, same run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nines::sim {

enum class Scenario {
  kChaos,     // faults of every kind, then heal and check liveness
  kFailover,  // no faults, then one leader crash: measure time to a new commit
};

struct SimOptions {
  uint64_t seed = 1;
  Scenario scenario = Scenario::kChaos;
  bool trace = false;
};

struct SimResult {
  std::vector<std::string> violations;
  bool faults = true;  // false for the fault-free seeds
  int members = 0;
  int64_t failover_us = -1;  // kFailover: crash -> first write committed by the new leader
  size_t ops = 0;            // client operations in the checked history
  size_t leader_terms = 0;
  bool linearizability_gave_up = false;
};

SimResult RunSimulation(const SimOptions& options);

// Violations recorded so far by the running simulation (for a crash report).
std::vector<std::string> CurrentViolations();

}  // namespace nines::sim
