// The global limit: one GCRA for every request this balancer admits, whose
// rate is this balancer's share of the configured global rate (all of it
// when alone; a share agreed with its peers in a cluster). It counts the
// requests it sees, which is this balancer's demand in the share exchange.
#pragma once

#include <atomic>
#include <cstdint>

#include "ratelimit/gcra.h"

namespace nines::ratelimit {

class GlobalRateLimiter {
 public:
  GlobalRateLimiter(int64_t count, int64_t window_s, int64_t burst);

  GcraDecision Take(int64_t now_ns);
  // Sets this balancer's fraction (0..1] of the global rate and burst.
  void SetShare(double fraction);
  double share() const { return share_milli_.load(std::memory_order_relaxed) / 1000.0; }
  // Requests seen (admitted or not) since start: the demand.
  uint64_t attempts() const { return attempts_.load(std::memory_order_relaxed); }
  // Parameters as the RateLimit-Policy field advertises them (the whole
  // global quota), and as enforced now (this balancer's share).
  GcraParams policy() const { return policy_; }
  GcraParams current() const;
  double global_per_second() const {
    return static_cast<double>(policy_.quota) / static_cast<double>(policy_.window_s);
  }

 private:
  const GcraParams policy_;
  std::atomic<int64_t> emission_ns_;
  std::atomic<int64_t> burst_;
  std::atomic<int64_t> share_milli_{1000};
  std::atomic<uint64_t> attempts_{0};
  AtomicGcra gcra_;
};

// This balancer's share of a global rate `global` (per second) given its own
// demand and the demands of the live peers (requests per second): everyone
// gets their demand plus an equal part of what is left while the total fits;
// beyond that, shares are proportional to demand. Never below `floor`.
double ComputeShare(double global, double my_demand, const double* peer_demands, int peers,
                    double floor = 0.02);

}  // namespace nines::ratelimit
