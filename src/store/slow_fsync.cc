// SlowFsyncDetector: consecutive slow fsyncs raise the flag, a cooldown after
// the last one drops it; see slow_fsync.h.
#include "store/slow_fsync.h"

namespace nines::store {

bool SlowFsyncDetector::Observe(int64_t duration_ms, int64_t now_ms) {
  if (options_.slow_ms <= 0) return false;
  if (duration_ms < options_.slow_ms) {  // a clock that went back measures < 0: not slow
    consecutive_ = 0;
    return false;
  }
  ++slow_fsyncs_;
  ++consecutive_;
  if (consecutive_ < options_.count) return false;
  last_slow_ms_ = now_ms;
  if (flagged_) return false;
  flagged_ = true;
  ++raised_;
  return true;
}

bool SlowFsyncDetector::Slow(int64_t now_ms) {
  if (!flagged_) return false;
  if (now_ms < last_slow_ms_) last_slow_ms_ = now_ms;
  if (now_ms - last_slow_ms_ >= options_.cooldown_ms) flagged_ = false;
  return flagged_;
}

}  // namespace nines::store
