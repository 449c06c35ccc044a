// The slow-disk detector of a store member (docs/store.md "When the disk is
// slow"), after TiKV's slow score and etcd's "slow fdatasync" warning: it is
// fed the duration of every WAL fsync, and flags the disk as slow after
// `count` consecutive fsyncs of at least `slow_ms` (one hiccup does not). The
// flag stays up until `cooldown_ms` after the last slow fsync, so a member
// that handed leadership away for its disk does not take it back at once.
// Pure: the caller passes the times (its injectable monotonic clock).
#pragma once

#include <cstdint>

namespace nines::store {

struct SlowFsyncOptions {
  int64_t slow_ms = 100;  // an fsync this long or longer is slow; 0 turns detection off
  int count = 3;          // consecutive slow fsyncs that raise the flag
  int64_t cooldown_ms = 10000;
};

class SlowFsyncDetector {
 public:
  explicit SlowFsyncDetector(SlowFsyncOptions options) : options_(options) {}

  // One fsync that took duration_ms and ended at now_ms. True when this
  // fsync raised the flag (it was down before).
  bool Observe(int64_t duration_ms, int64_t now_ms);
  // Whether the flag is up at now_ms (it drops cooldown_ms after the last
  // slow fsync). A clock that went back moves the last slow fsync back to
  // now: the flag then stays up at most cooldown_ms more, never longer.
  bool Slow(int64_t now_ms);

  int consecutive_slow() const { return consecutive_; }
  uint64_t slow_fsyncs() const { return slow_fsyncs_; }  // fsyncs of at least slow_ms, ever
  uint64_t raised() const { return raised_; }            // times the flag went up
  const SlowFsyncOptions& options() const { return options_; }

 private:
  SlowFsyncOptions options_;
  int consecutive_ = 0;
  bool flagged_ = false;
  int64_t last_slow_ms_ = 0;
  uint64_t slow_fsyncs_ = 0;
  uint64_t raised_ = 0;
};

}  // namespace nines::store
