// Active HTTP health checks: every `interval_ms` a GET of `path` to the
// target, passing on a 2xx or 3xx status within `timeout_ms`; results feed a
// RiseFall. Runs on an Asio io_context; never blocks the caller.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/config.h"
#include "health/rise_fall.h"
#include "http/response_reader.h"

namespace nines::health {

struct HealthCheckSpec {
  std::string path = "/healthz";
  int interval_ms = 1000;
  int timeout_ms = 500;
  int rise = 2;
  int fall = 2;
  std::string host_header;  // Host sent with the check; defaults to the target address
};

// Reads a [health] table (path, interval_ms, timeout_ms, rise, fall).
HealthCheckSpec ReadHealthSpec(TableReader& table);

struct CheckResult {
  bool ok = false;
  int status = 0;     // HTTP status, 0 when none was received
  std::string error;  // "connect refused", "timeout", ... when not ok
  int64_t latency_ms = 0;
  int64_t at_ms = 0;  // steady-clock ms when the check finished
};

class HealthChecker : public std::enable_shared_from_this<HealthChecker> {
 public:
  // `on_change(up)` runs on the io_context's thread when the state flips.
  using ChangeCallback = std::function<void(bool up, const CheckResult& last)>;

  HealthChecker(asio::io_context& io, Endpoint target, HealthCheckSpec spec, bool initially_up,
                ChangeCallback on_change);
  ~HealthChecker();

  void Start();  // first check at once, then every interval
  void Stop();   // no further checks or callbacks

  bool up() const { return up_.load(std::memory_order_relaxed); }
  CheckResult last_result() const;
  uint64_t checks() const { return checks_.load(std::memory_order_relaxed); }
  const Endpoint& target() const { return target_; }
  // Applies new settings from a reload; the state is kept.
  void Update(const HealthCheckSpec& spec);

 private:
  void ScheduleNext(int delay_ms);
  void RunCheck();
  void Finish(int64_t started_ns, const http::ClientResponse& response);

  asio::io_context& io_;
  Endpoint target_;
  HealthCheckSpec spec_;
  ChangeCallback on_change_;
  asio::steady_timer timer_;
  RiseFall state_;
  std::atomic<bool> up_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> checks_{0};
  mutable std::mutex mu_;
  CheckResult last_;
};

}  // namespace nines::health
