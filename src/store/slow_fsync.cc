// SlowFsyncDetector: consecutive slow fsyncs raise the flag, a cooldown after
// the last one drops it; a large group commit is judged per MiB; see
// slow_fsync.h.
#include "store/slow_fsync.h"

namespace nines::store {

int64_t JudgedFsyncMs(int64_t duration_ms, uint64_t bytes) {
  if (bytes <= kJudgedFsyncBytes || duration_ms <= 0) return duration_ms;
  // duration * MiB / bytes without overflow: duration_ms is at most hours.
  return static_cast<int64_t>(static_cast<double>(duration_ms) *
                              static_cast<double>(kJudgedFsyncBytes) / static_cast<double>(bytes));
}

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
