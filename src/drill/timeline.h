// What the clients saw, bucketed by the second of each request's intended
// send time: successes, failures, 429s (regular clients and the spiking
// client apart) and a latency histogram per second; failures also per 100 ms
// for recovery times. Bounded: a fixed number of seconds chosen up front.
#pragma once

#include <cstdint>
#include <vector>

#include "drill/latency_histogram.h"

namespace nines::drill {

enum class Outcome {
  kOk,               // 2xx (and the expected 404 of nothing)
  kFailed,           // 5xx, timeout, connection error, unexpected status
  kRateLimited,      // 429 to a regular client: counts against availability
  kRefusedByClient,  // never sent: the drill's own in-flight limit was reached
  kSpikeOk,          // the spiking client's requests: excluded from availability
  kSpikeRateLimited,
  kSpikeFailed,
};

struct SecondStats {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t rate_limited = 0;
  uint64_t refused_by_client = 0;  // failures with no latency (never sent)
  uint64_t spike_ok = 0;
  uint64_t spike_rate_limited = 0;
  uint64_t spike_failed = 0;
  LatencyHistogram latency;  // regular clients only, every outcome that was sent
};

struct Totals {
  uint64_t ok = 0, failed = 0, rate_limited = 0, refused_by_client = 0;
  uint64_t spike_ok = 0, spike_rate_limited = 0, spike_failed = 0;
  uint64_t regular() const { return ok + failed + rate_limited + refused_by_client; }
  uint64_t spike() const { return spike_ok + spike_rate_limited + spike_failed; }
};

class Timeline {
 public:
  static constexpr int kMaxSeconds = 3600 + 120;
  static constexpr int kSlotsPerSecond = 10;  // failure resolution: 100 ms

  explicit Timeline(int seconds);

  // A request intended at `at_ms` (since the run started) finished with
  // `outcome` after `latency_us`. Times outside the timeline are clamped to
  // its last second (and counted).
  void Record(int64_t at_ms, Outcome outcome, int64_t latency_us);

  int seconds() const { return static_cast<int>(seconds_.size()); }
  const SecondStats& second(int i) const { return seconds_[i]; }
  Totals totals() const;
  LatencyHistogram TotalLatency() const;

  // Regular requests and failures (failed + rate limited + refused) intended in [from_ms, to_ms).
  uint64_t RequestsBetween(int64_t from_ms, int64_t to_ms) const;
  uint64_t FailuresBetween(int64_t from_ms, int64_t to_ms) const;
  // End (ms) of the last 100 ms slot in [from_ms, to_ms) holding a failure, or -1.
  int64_t LastFailureEndBetween(int64_t from_ms, int64_t to_ms) const;

 private:
  std::vector<SecondStats> seconds_;
  std::vector<uint32_t> requests_per_slot_;
  std::vector<uint32_t> failures_per_slot_;
};

}  // namespace nines::drill
