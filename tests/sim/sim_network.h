// The simulated network between whole store members (nines_sim_store): each
// Raft message is dropped, duplicated or delayed (so reordered) at random,
// and links can be cut one way or both (partitions). Deterministic for a seed.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "prng.h"
#include "raft/types.h"

namespace nines::sim {

struct NetworkFaults {
  double drop = 0;       // probability a message is lost
  double duplicate = 0;  // probability it arrives twice
  int64_t min_delay_ms = 1;
  int64_t max_delay_ms = 5;
};

class SimNetwork {
 public:
  explicit SimNetwork(Prng* prng) : prng_(prng) {}

  void set_faults(const NetworkFaults& faults) { faults_ = faults; }
  // Cuts the link from -> to (one way); messages already in flight on it are lost too.
  void Cut(size_t from, size_t to) { cut_.insert({from, to}); }
  void HealAll() { cut_.clear(); }
  bool IsCut(size_t from, size_t to) const { return cut_.count({from, to}) > 0; }
  bool partitioned() const { return !cut_.empty(); }
  uint64_t sent() const { return sent_; }
  size_t in_flight() const { return queue_.size(); }

  void Send(size_t from, size_t to, const raft::Message& m, int64_t now_ms);
  // Messages due at now_ms whose link is not cut, in delivery order.
  std::vector<std::pair<size_t, raft::Message>> Due(int64_t now_ms);

 private:
  struct InFlight {
    size_t from = 0;
    size_t to = 0;
    raft::Message message;
  };

  Prng* prng_;
  NetworkFaults faults_;
  std::set<std::pair<size_t, size_t>> cut_;
  std::multimap<std::pair<int64_t, uint64_t>, InFlight> queue_;  // (due, sequence)
  uint64_t sequence_ = 0;
  uint64_t sent_ = 0;
};

}  // namespace nines::sim
