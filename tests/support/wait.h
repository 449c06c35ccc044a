// Polling with a deadline: tests wait for conditions, never for fixed times.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace nines::test {

// Calls `condition` every `poll_ms` until it is true (returns true) or
// `timeout_ms` passes (returns false).
inline bool WaitUntil(const std::function<bool()>& condition, int timeout_ms, int poll_ms = 20) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

inline int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace nines::test
