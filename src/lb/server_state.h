// One backend server as every worker thread sees it: identity, health as the
// active checker and the passive outlier detector see it, the admin's drain
// flag, load, and counters. Shared between threads, so every mutable field
// is atomic; the balancer reads these on each pick.
#pragma once

#include <asio/ip/tcp.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/metrics.h"

namespace nines::health {
class HealthChecker;
}  // namespace nines::health

namespace nines::lb {

struct ServerState {
  ServerState(std::string name, Endpoint address);

  // Identity: fixed for the life of the object (a changed address on reload
  // makes a new ServerState).
  const std::string name;
  const Endpoint address;
  const asio::ip::tcp::endpoint tcp_endpoint;

  // Settings a reload may change in place.
  std::atomic<int> weight{1};
  std::atomic<bool> backup{false};

  // Availability.
  std::atomic<bool> health_up{true};         // active checks
  std::atomic<bool> draining{false};         // admin: no new requests
  std::atomic<bool> removed{false};          // gone from the config
  std::atomic<int64_t> ejected_until_ms{0};  // passive checks (steady clock)
  std::atomic<int> consecutive_failures{0};
  std::atomic<int> times_ejected{0};
  std::atomic<int64_t> last_failure_ms{0};
  // Time to the response head: an EWMA (weight 1/8 per sample) in
  // microseconds, and how many samples it holds since the last ejection.
  std::atomic<int64_t> latency_ewma_us{0};
  std::atomic<int> latency_samples{0};
  std::atomic<int> latency_ejections{0};

  // Load.
  std::atomic<int> active_requests{0};
  std::atomic<int> max_conn{0};  // 0: no limit

  bool HasCapacity() const {
    int limit = max_conn.load(std::memory_order_relaxed);
    return limit == 0 || active_requests.load(std::memory_order_relaxed) < limit;
  }
  // Takes a slot for one request, exactly respecting max_conn across threads.
  bool TryAcquire() {
    int limit = max_conn.load(std::memory_order_relaxed);
    int now = active_requests.load(std::memory_order_relaxed);
    do {
      if (limit != 0 && now >= limit) return false;
    } while (!active_requests.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
    return true;
  }

  // Counters (registered with the balancer's registry when created).
  std::array<Counter*, 6> responses_by_class{};  // 1xx..5xx at [1..5], [0] unused
  Counter* requests = nullptr;
  Counter* failures = nullptr;  // connect errors, resets, timeouts, bad responses
  Counter* ejections = nullptr;
  Counter* latency_ejections_counter = nullptr;  // the ejections for latency
  Histogram* latency = nullptr;

  std::shared_ptr<health::HealthChecker> checker;

  bool Ejected(int64_t now_ms) const {
    return now_ms < ejected_until_ms.load(std::memory_order_relaxed);
  }
  // Part of the pool: neither draining nor removed.
  bool InPool() const {
    return !draining.load(std::memory_order_relaxed) && !removed.load(std::memory_order_relaxed);
  }
  // Can take a new request if ejections are ignored (panic routing).
  bool InRotation() const { return InPool() && health_up.load(std::memory_order_relaxed); }
  // Can take a new request now (not counting per-server limits).
  bool Available(int64_t now_ms) const { return InRotation() && !Ejected(now_ms); }
  // "up", "down" or "draining" as /status shows it.
  const char* StateName(int64_t now_ms) const;
};

}  // namespace nines::lb
