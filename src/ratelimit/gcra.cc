// GCRA arithmetic.
#include "ratelimit/gcra.h"

#include <algorithm>

namespace nines::ratelimit {

namespace {

constexpr int64_t kSecond = 1'000'000'000;

int64_t CeilSeconds(int64_t ns) {
  return ns <= 0 ? 0 : (ns + kSecond - 1) / kSecond;
}

}  // namespace

GcraParams MakeGcraParams(int64_t count, int64_t window_seconds, int64_t burst) {
  GcraParams p;
  count = std::max<int64_t>(1, count);
  p.emission_ns = std::max<int64_t>(1, window_seconds * kSecond / count);
  p.burst = std::max<int64_t>(1, burst);
  p.quota = count;
  p.window_s = window_seconds;
  return p;
}

GcraDecision GcraTake(const GcraParams& params, int64_t* tat, int64_t now_ns) {
  GcraDecision d;
  const int64_t capacity_ns = params.emission_ns * params.burst;
  int64_t new_tat = std::max(*tat, now_ns) + params.emission_ns;
  int64_t full_in = new_tat - now_ns;  // time until the bucket would be full again
  if (full_in > capacity_ns) {
    // Denied: the next request fits when full_in has shrunk to capacity.
    d.allowed = false;
    d.remaining = 0;
    d.retry_after_s = std::max<int64_t>(1, CeilSeconds(full_in - capacity_ns));
    d.reset_s = d.retry_after_s;
    return d;
  }
  *tat = new_tat;
  d.allowed = true;
  d.remaining = (capacity_ns - full_in) / params.emission_ns;
  // `remaining` grows by one once full_in drops to the next multiple below.
  int64_t next_level = (params.burst - d.remaining - 1) * params.emission_ns;
  d.reset_s = CeilSeconds(full_in - next_level);
  return d;
}

GcraDecision AtomicGcra::Take(const GcraParams& params, int64_t now_ns) {
  int64_t current = tat_.load(std::memory_order_relaxed);
  while (true) {
    int64_t updated = current;
    GcraDecision d = GcraTake(params, &updated, now_ns);
    if (!d.allowed) return d;
    if (tat_.compare_exchange_weak(current, updated, std::memory_order_relaxed)) return d;
  }
}

}  // namespace nines::ratelimit
