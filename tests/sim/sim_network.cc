// The simulated network of nines_sim_store; see sim_network.h.
#include "sim_network.h"

namespace nines::sim {

void SimNetwork::Send(size_t from, size_t to, const raft::Message& m, int64_t now_ms) {
  ++sent_;
  if (IsCut(from, to) || prng_->Chance(faults_.drop)) return;
  int copies = prng_->Chance(faults_.duplicate) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    int64_t due = now_ms + prng_->Range(faults_.min_delay_ms, faults_.max_delay_ms);
    queue_.emplace(std::make_pair(due, sequence_++), InFlight{from, to, m});
  }
}

std::vector<std::pair<size_t, raft::Message>> SimNetwork::Due(int64_t now_ms) {
  std::vector<std::pair<size_t, raft::Message>> due;
  while (!queue_.empty() && queue_.begin()->first.first <= now_ms) {
    InFlight f = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    if (!IsCut(f.from, f.to)) due.emplace_back(f.to, std::move(f.message));
  }
  return due;
}

}  // namespace nines::sim
