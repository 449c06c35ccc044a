// The generic cell rate algorithm (GCRA): a token bucket kept as one number,
// the theoretical arrival time (TAT) of the next request. A rate of N per
// window with a burst of B allows B requests at once, then one every
// window/N. The same arithmetic answers what a client needs to pace itself:
// how many requests remain and when the next one is allowed.
#pragma once

#include <atomic>
#include <cstdint>

namespace nines::ratelimit {

struct GcraParams {
  int64_t emission_ns = 1'000'000'000;  // time per request at the sustained rate
  int64_t burst = 1;                    // bucket size
  int64_t quota = 1;                    // N, for the RateLimit-Policy field
  int64_t window_s = 1;                 // the window of N, for the policy field
};

// `count` requests per `window_seconds`, bucket of `burst` (at least 1).
GcraParams MakeGcraParams(int64_t count, int64_t window_seconds, int64_t burst);

struct GcraDecision {
  bool allowed = false;
  int64_t remaining = 0;      // requests allowed right now after this one
  int64_t retry_after_s = 0;  // denied: whole seconds until one is allowed (at least 1)
  int64_t reset_s = 0;        // seconds until `remaining` grows (denied: = retry_after_s)
};

// Decides one request at `now_ns` against `*tat` and updates it if allowed.
GcraDecision GcraTake(const GcraParams& params, int64_t* tat, int64_t now_ns);

// A GCRA shared by threads: exact under concurrency (compare-and-swap).
class AtomicGcra {
 public:
  GcraDecision Take(const GcraParams& params, int64_t now_ns);
  int64_t tat() const { return tat_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> tat_{0};
};

}  // namespace nines::ratelimit
