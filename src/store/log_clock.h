// The time expiry follows: what a leader stamps into the commands it
// proposes, and the time reads judge expiry at. Both come from injected clocks
// (wall: Unix ms, may be wrong; steady: monotonic ms) so tests drive them by
// hand. See docs/store.md "Expiry and time".
#pragma once

#include <cstdint>
#include <functional>

namespace nines::store {

class LogClock {
 public:
  using Source = std::function<int64_t()>;
  LogClock(Source wall_ms, Source steady_ms, int64_t max_skew_ms);

  // This member applied the log up to a state whose clock is log_ms.
  void Observe(int64_t log_ms);
  // The time a command proposed now is stamped with.
  int64_t Stamp();
  // The time a read judges expiry at, on a state whose clock is log_ms.
  int64_t ReadTime(int64_t log_ms) const;

  int64_t max_skew_ms() const { return max_skew_ms_; }

 private:
  Source wall_ms_;
  Source steady_ms_;
  int64_t max_skew_ms_;
};

}  // namespace nines::store
