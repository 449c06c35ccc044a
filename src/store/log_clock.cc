// LogClock: bounded, monotonic stamps from the leader's clocks; reads at log
// time. See log_clock.h.
#include "store/log_clock.h"

#include <algorithm>
#include <utility>

namespace nines::store {

LogClock::LogClock(Source wall_ms, Source steady_ms, int64_t max_skew_ms)
    : wall_ms_(std::move(wall_ms)), steady_ms_(std::move(steady_ms)), max_skew_ms_(max_skew_ms) {}

void LogClock::Observe(int64_t log_ms) {
  if (log_ms <= 0) return;  // no time in the log yet
  log_ms_ = std::max(log_ms_, log_ms);
  int64_t steady = steady_ms_();
  if (!anchored_) {
    anchored_ = true;
    ref_log_ = log_ms;
    ref_steady_ = steady;
  } else if (log_ms > Projection(steady) + max_skew_ms_) {
    // Another leader's time runs ahead of ours by more than the skew: follow
    // it, keeping our own projection max_skew_ms below it.
    ref_log_ = log_ms - max_skew_ms_;
    ref_steady_ = steady;
  }
}

int64_t LogClock::Stamp() {
  int64_t steady = steady_ms_();
  int64_t wall = wall_ms_();
  if (!anchored_) {
    // An empty log: time starts at this leader's wall clock.
    anchored_ = true;
    ref_log_ = std::max({wall, log_ms_, last_stamp_});
    ref_steady_ = steady;
  }
  int64_t projection = Projection(steady);
  int64_t lo = std::max({log_ms_, last_stamp_, projection - max_skew_ms_});
  int64_t hi = std::max(lo, projection + max_skew_ms_);
  last_stamp_ = std::clamp(wall, lo, hi);
  return last_stamp_;
}

}  // namespace nines::store
