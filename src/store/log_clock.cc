// LogClock: the member's wall clock, as the store has always used it.
#include "store/log_clock.h"

#include <utility>

namespace nines::store {

LogClock::LogClock(Source wall_ms, Source steady_ms, int64_t max_skew_ms)
    : wall_ms_(std::move(wall_ms)), steady_ms_(std::move(steady_ms)), max_skew_ms_(max_skew_ms) {}

void LogClock::Observe(int64_t) {}

int64_t LogClock::Stamp() {
  return wall_ms_();
}

int64_t LogClock::ReadTime(int64_t) const {
  return wall_ms_();
}

}  // namespace nines::store
