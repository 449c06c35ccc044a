// LoadSchedule: exact integer spacing so request i's time never drifts.
#include "drill/load_schedule.h"

#include <algorithm>
#include <cmath>

namespace nines::drill {

LoadSchedule::LoadSchedule(double rate, int64_t start_nanos, int64_t duration_nanos)
    : rate_(rate > 0 ? rate : 0), start_(start_nanos) {
  double total = rate_ * static_cast<double>(std::max<int64_t>(duration_nanos, 0)) / 1e9;
  total_ = static_cast<uint64_t>(std::floor(total + 1e-9));
}

int64_t LoadSchedule::IntendedNanos(uint64_t i) const {
  if (rate_ <= 0) return start_;
  return start_ + static_cast<int64_t>(std::llround(static_cast<double>(i) * 1e9 / rate_));
}

uint64_t LoadSchedule::DueBy(int64_t now_nanos) const {
  if (now_nanos < start_ || rate_ <= 0) return 0;
  double elapsed = static_cast<double>(now_nanos - start_) / 1e9;
  uint64_t due = static_cast<uint64_t>(std::floor(elapsed * rate_ + 1e-9)) + 1;
  due = std::min(due, total_);
  // Rounding guard: never count a request whose intended time is still ahead.
  while (due > 0 && IntendedNanos(due - 1) > now_nanos) --due;
  return due;
}

}  // namespace nines::drill
