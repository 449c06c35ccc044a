// Injectable monotonic clock. Everything that measures time takes a Clock so
// tests and simulations can drive time by hand instead of sleeping.
#pragma once

#include <atomic>
#include <cstdint>

namespace nines {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in nanoseconds since an arbitrary epoch.
  virtual int64_t NowNanos() const = 0;
  int64_t NowMillis() const { return NowNanos() / 1'000'000; }
};

// The process's steady clock.
class SteadyClock : public Clock {
 public:
  int64_t NowNanos() const override;
  static SteadyClock& Instance();
};

// The process's wall clock (nanoseconds since the Unix epoch; may step).
// Injectable where wall time matters (TTLs), so simulations can skew it.
class SystemClock : public Clock {
 public:
  int64_t NowNanos() const override;
  static SystemClock& Instance();
};

// A clock that moves only when told to; for tests.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start_nanos = 1'000'000'000) : now_(start_nanos) {}
  int64_t NowNanos() const override { return now_.load(std::memory_order_relaxed); }
  void Advance(int64_t nanos) { now_.fetch_add(nanos, std::memory_order_relaxed); }
  void AdvanceMillis(int64_t ms) { Advance(ms * 1'000'000); }

 private:
  std::atomic<int64_t> now_;
};

// Wall-clock milliseconds since the Unix epoch, for logs and reports only.
int64_t WallMillis();

}  // namespace nines
