// The open-loop arrival schedule (wrk2's answer to coordinated omission):
// request i is due at start + i/rate whatever happened to earlier requests,
// and its latency is measured from that intended time, so a stall shows up
// as latency (and failures) instead of as fewer requests.
#pragma once

#include <cstdint>

namespace nines::drill {

class LoadSchedule {
 public:
  // `rate` requests per second starting at `start_nanos` (any monotonic
  // epoch) for `duration_nanos`.
  LoadSchedule(double rate, int64_t start_nanos, int64_t duration_nanos);

  // Intended send time of request i (0-based).
  int64_t IntendedNanos(uint64_t i) const;
  // How many requests are due by `now` (those with intended time <= now),
  // never more than the total.
  uint64_t DueBy(int64_t now_nanos) const;
  uint64_t total() const { return total_; }
  int64_t start_nanos() const { return start_; }
  double rate() const { return rate_; }

  // Latency of a request that completed at `done_nanos`, from its intended time.
  int64_t LatencyNanos(uint64_t i, int64_t done_nanos) const {
    return done_nanos - IntendedNanos(i);
  }

 private:
  double rate_;
  int64_t start_;
  uint64_t total_;
};

}  // namespace nines::drill
