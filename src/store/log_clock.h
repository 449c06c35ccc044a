// The time expiry follows: what a leader stamps into the commands it
// proposes, and the time reads judge expiry at. Expiry is decided only by
// time carried in the log (KvState::clock_ms), never by a member's own wall
// clock; a leader's wall clock only steers the stamps within bounds:
//   - monotonic: a stamp is never below the log's clock or an earlier stamp;
//   - bounded: a stamp stays within max_skew_ms of the projection
//       ref_log + (steady now - ref_steady),
//     where (ref_log, ref_steady) is the log clock this member saw and the
//     steady time it saw it at. A wall clock an hour ahead or behind moves log
//     time by at most max_skew_ms; log time otherwise advances with the
//     leader's steady clock.
// The reference moves only when the log runs more than max_skew_ms past the
// projection (another leader's stamps), and then to max_skew_ms below it, so
// the skew of successive leaders does not add up.
// Reads judge expiry at the log's clock itself: a key one read saw expired
// stays expired on every member after any failover, because log time never
// runs back. Precision comes from the leader's expiry tick (kPurgeExpired,
// every 100 ms while keys have a TTL). See docs/store.md "Expiry and time".
#pragma once

#include <cstdint>
#include <functional>

namespace nines::store {

class LogClock {
 public:
  using Source = std::function<int64_t()>;
  // wall_ms: Unix ms, may be wrong; steady_ms: monotonic ms.
  LogClock(Source wall_ms, Source steady_ms, int64_t max_skew_ms);

  // This member applied the log up to a state whose clock is log_ms
  // (0: no time in the log yet).
  void Observe(int64_t log_ms);
  // The time a command proposed now is stamped with.
  int64_t Stamp();
  // The time a read judges expiry at, on a state whose clock is log_ms.
  int64_t ReadTime(int64_t log_ms) const { return log_ms; }

  int64_t max_skew_ms() const { return max_skew_ms_; }

 private:
  int64_t Projection(int64_t steady) const { return ref_log_ + (steady - ref_steady_); }

  Source wall_ms_;
  Source steady_ms_;
  int64_t max_skew_ms_;
  bool anchored_ = false;
  int64_t ref_log_ = 0;
  int64_t ref_steady_ = 0;
  int64_t log_ms_ = 0;      // the largest log clock observed
  int64_t last_stamp_ = 0;  // the largest stamp handed out
};

}  // namespace nines::store
