// A retry budget (after Finagle's RetryBudget): every request forwarded to a
// server deposits `ratio` of a retry, every retry spends one. The bank holds
// at most kMaxBanked retries, or `ratio` per request in flight when more are
// in flight (so that when every server fails at once, each of those requests
// can still be retried, as Envoy's budget allows), and it loses half of what
// it holds every 10 s. Credit earned by healthy traffic therefore cannot
// fund a burst of retries when the servers start failing. Requests the
// balancer answers itself (429, 400, 503) deposit nothing. Over any run of N
// forwarded requests, retries are at most ratio * N plus the cap.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>

#include "base/clock.h"

namespace nines {

class RetryBudget {
 public:
  static constexpr int64_t kMaxBanked = 10;      // retries the bank can hold
  static constexpr int64_t kHalfLifeMs = 10000;  // the bank halves this often

  explicit RetryBudget(double ratio = 1.0) : ratio_milli_(ToMilli(ratio)) {}

  void SetRatio(double ratio) {
    std::lock_guard lock(mu_);
    ratio_milli_ = ToMilli(ratio);
  }

  // A request is about to be forwarded to a server for the first time;
  // `in_flight` requests (this one included) are in flight to the servers.
  void OnRequestAt(int64_t now_ms, int in_flight = 0) {
    std::lock_guard lock(mu_);
    Decay(now_ms);
    int64_t cap = std::max(kCapMilli, ratio_milli_ * in_flight);
    credits_milli_ = std::max(credits_milli_, std::min(credits_milli_ + ratio_milli_, cap));
  }
  void OnRequest(int in_flight = 0) { OnRequestAt(SteadyClock::Instance().NowMillis(), in_flight); }

  // Takes one retry from the budget; false when it is spent.
  bool TryRetryAt(int64_t now_ms) {
    std::lock_guard lock(mu_);
    Decay(now_ms);
    if (credits_milli_ < 1000) return false;
    credits_milli_ -= 1000;
    return true;
  }
  bool TryRetry() { return TryRetryAt(SteadyClock::Instance().NowMillis()); }

  double credits() const {
    std::lock_guard lock(mu_);
    return static_cast<double>(credits_milli_) / 1000.0;
  }

 private:
  static constexpr int64_t kCapMilli = kMaxBanked * 1000;
  static int64_t ToMilli(double ratio) { return static_cast<int64_t>(std::llround(ratio * 1000)); }

  // Applied in steps of whole seconds, so requests close together see the
  // same balance.
  void Decay(int64_t now_ms) {
    if (!started_ || now_ms < last_decay_ms_) {
      started_ = true;
      last_decay_ms_ = now_ms;
      return;
    }
    int64_t elapsed = now_ms - last_decay_ms_;
    if (elapsed < 1000) return;
    elapsed -= elapsed % 1000;
    double factor = std::exp2(-static_cast<double>(elapsed) / kHalfLifeMs);
    credits_milli_ = static_cast<int64_t>(static_cast<double>(credits_milli_) * factor);
    last_decay_ms_ += elapsed;
  }

  mutable std::mutex mu_;
  int64_t ratio_milli_;
  int64_t credits_milli_ = 0;
  int64_t last_decay_ms_ = 0;
  bool started_ = false;
};

}  // namespace nines
