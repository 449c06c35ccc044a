// The dashboard's traffic spike: GET / at `rate` requests per second for
// `seconds` from one client address (127.0.N.250 of the region) to the
// region's load balancer, so the per-client rate limit answers 429.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "base/config.h"
#include "base/status.h"

namespace nines::up {

struct SpikeStatus {
  bool running = false;
  std::string region;
  int rate = 0;  // asked for
  int seconds = 0;
  double achieved_rate = 0;  // requests sent per second of the spike so far
  int64_t sent = 0;
  int64_t ok = 0;            // 2xx-4xx other than 429
  int64_t rate_limited = 0;  // 429
  int64_t failed = 0;        // 5xx or no response
};

class Spike {
 public:
  static constexpr int kMaxRate = 5000;
  static constexpr int kMaxSeconds = 60;

  ~Spike();
  // Ok when started; FailedPrecondition when one is already running.
  ::nines::Status Start(const std::string& region, const std::string& source_ip, const Endpoint& lb,
                        int rate, int seconds);
  SpikeStatus Status() const;
  void Stop();

 private:
  void Run(const Endpoint& lb, std::string source_ip, int rate, int seconds);

  mutable std::mutex mu_;
  SpikeStatus status_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace nines::up
