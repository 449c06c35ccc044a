// A retry budget: every request deposits `ratio` of a retry, every retry
// spends one. With ratio 1 retries can never exceed the requests that earned
// them, so retries at most double the load on the servers, however many
// servers fail at once.
#pragma once

#include <atomic>
#include <cstdint>

namespace nines {

class RetryBudget {
 public:
  explicit RetryBudget(double ratio = 1.0, int64_t cap = 1000)
      : ratio_milli_(static_cast<int64_t>(ratio * 1000)), cap_milli_(cap * 1000) {}

  void SetRatio(double ratio) {
    ratio_milli_.store(static_cast<int64_t>(ratio * 1000), std::memory_order_relaxed);
  }

  void OnRequest() {
    int64_t add = ratio_milli_.load(std::memory_order_relaxed);
    int64_t now = credits_milli_.load(std::memory_order_relaxed);
    while (now < cap_milli_ &&
           !credits_milli_.compare_exchange_weak(now, std::min(cap_milli_, now + add),
                                                 std::memory_order_relaxed)) {
    }
  }

  // Takes one retry from the budget; false when it is spent.
  bool TryRetry() {
    int64_t now = credits_milli_.load(std::memory_order_relaxed);
    while (now >= 1000) {
      if (credits_milli_.compare_exchange_weak(now, now - 1000, std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  double credits() const { return credits_milli_.load(std::memory_order_relaxed) / 1000.0; }

 private:
  std::atomic<int64_t> ratio_milli_;
  const int64_t cap_milli_;
  std::atomic<int64_t> credits_milli_{0};
};

}  // namespace nines
