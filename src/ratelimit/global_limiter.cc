// Global limiter with an adjustable share.
#include "ratelimit/global_limiter.h"

#include <algorithm>
#include <cmath>

namespace nines::ratelimit {

GlobalRateLimiter::GlobalRateLimiter(int64_t count, int64_t window_s, int64_t burst)
    : policy_(MakeGcraParams(count, window_s, burst)),
      emission_ns_(policy_.emission_ns),
      burst_(policy_.burst) {}

GcraParams GlobalRateLimiter::current() const {
  GcraParams p = policy_;
  p.emission_ns = emission_ns_.load(std::memory_order_relaxed);
  p.burst = burst_.load(std::memory_order_relaxed);
  return p;
}

GcraDecision GlobalRateLimiter::Take(int64_t now_ns) {
  attempts_.fetch_add(1, std::memory_order_relaxed);
  return gcra_.Take(current(), now_ns);
}

void GlobalRateLimiter::SetShare(double fraction) {
  fraction = std::clamp(fraction, 0.001, 1.0);
  share_milli_.store(static_cast<int64_t>(fraction * 1000), std::memory_order_relaxed);
  emission_ns_.store(std::max<int64_t>(1, static_cast<int64_t>(
                                              static_cast<double>(policy_.emission_ns) / fraction)),
                     std::memory_order_relaxed);
  burst_.store(std::max<int64_t>(1, std::llround(static_cast<double>(policy_.burst) * fraction)),
               std::memory_order_relaxed);
}

double ComputeShare(double global, double my_demand, const double* peer_demands, int peers,
                    double floor) {
  double total = my_demand;
  for (int i = 0; i < peers; ++i) total += peer_demands[i];
  int members = peers + 1;
  double share;
  if (total <= 0 || global <= 0) {
    share = 1.0 / members;
  } else if (total <= global) {
    share = (my_demand + (global - total) / members) / global;
  } else {
    share = my_demand / total;
  }
  return std::clamp(share, floor / members, 1.0);
}

}  // namespace nines::ratelimit
