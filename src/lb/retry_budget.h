// A retry budget (after Finagle's RetryBudget): every request forwarded to a
// server deposits `ratio` of a retry, every retry spends one. The bank holds
// at most kMaxBanked retries, or `ratio` per request in flight when more are
// in flight (so that when every server fails at once, each of those requests
// can still be retried, as Envoy's budget allows), and it loses half of what
// it holds every 10 s. Credit earned by healthy traffic therefore cannot
// fund a burst of retries when the servers start failing. Requests the
// balancer answers itself (429, 400, 503) deposit nothing. Over any run of N
// forwarded requests, retries are at most ratio * N plus the cap.
//
// Lock-free: every worker thread touches it on every request, so the bank is
// an atomic updated by compare-and-swap, and a deposit into a full bank (the
// steady state of healthy traffic) only reads it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>

#include "base/clock.h"

namespace nines::lb {

class RetryBudget {
 public:
  static constexpr int64_t kMaxBanked = 10;      // retries the bank can hold
  static constexpr int64_t kHalfLifeMs = 10000;  // the bank halves this often

  explicit RetryBudget(double ratio = 1.0) : ratio_milli_(ToMilli(ratio)) {}

  void SetRatio(double ratio) { ratio_milli_.store(ToMilli(ratio), std::memory_order_relaxed); }

  // A request is about to be forwarded to a server for the first time;
  // `in_flight` requests (this one included) are in flight to the servers.
  void OnRequestAt(int64_t now_ms, int in_flight = 0) {
    Decay(now_ms);
    const int64_t ratio = ratio_milli_.load(std::memory_order_relaxed);
    const int64_t cap = std::max(kCapMilli, ratio * in_flight);
    int64_t credits = credits_milli_.load(std::memory_order_relaxed);
    while (true) {
      int64_t next = std::max(credits, std::min(credits + ratio, cap));
      if (next == credits) return;  // full: nothing to write
      if (credits_milli_.compare_exchange_weak(credits, next, std::memory_order_relaxed)) return;
    }
  }
  void OnRequest(int in_flight = 0) { OnRequestAt(SteadyClock::Instance().NowMillis(), in_flight); }

  // Takes one retry from the budget; false when it is spent.
  bool TryRetryAt(int64_t now_ms) {
    Decay(now_ms);
    int64_t credits = credits_milli_.load(std::memory_order_relaxed);
    while (true) {
      if (credits < 1000) return false;
      if (credits_milli_.compare_exchange_weak(credits, credits - 1000,
                                               std::memory_order_relaxed)) {
        return true;
      }
    }
  }
  bool TryRetry() { return TryRetryAt(SteadyClock::Instance().NowMillis()); }

  double credits() const {
    return static_cast<double>(credits_milli_.load(std::memory_order_relaxed)) / 1000.0;
  }

 private:
  static constexpr int64_t kCapMilli = kMaxBanked * 1000;
  static constexpr int64_t kUnstarted = std::numeric_limits<int64_t>::min();
  static int64_t ToMilli(double ratio) { return static_cast<int64_t>(std::llround(ratio * 1000)); }

  // Applied in steps of whole seconds, so requests close together see the
  // same balance. The thread that moves last_decay_ms_ forward applies the
  // step; the others go on with the balance as it is. Workers read their
  // clocks at different moments: a time before the last step decays nothing.
  void Decay(int64_t now_ms) {
    int64_t last = last_decay_ms_.load(std::memory_order_relaxed);
    if (last == kUnstarted) {
      last_decay_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed);
      return;
    }
    int64_t elapsed = now_ms - last;
    if (elapsed < 1000) return;
    elapsed -= elapsed % 1000;
    if (!last_decay_ms_.compare_exchange_strong(last, last + elapsed, std::memory_order_relaxed)) {
      return;
    }
    const double factor = std::exp2(-static_cast<double>(elapsed) / kHalfLifeMs);
    int64_t credits = credits_milli_.load(std::memory_order_relaxed);
    while (!credits_milli_.compare_exchange_weak(
        credits, static_cast<int64_t>(static_cast<double>(credits) * factor),
        std::memory_order_relaxed)) {
    }
  }

  std::atomic<int64_t> ratio_milli_;
  std::atomic<int64_t> credits_milli_{0};
  std::atomic<int64_t> last_decay_ms_{kUnstarted};
};

}  // namespace nines::lb
