// The spike sender: paced requests on keep-alive connections from one source address.
#include "up/spike.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "http/client.h"

namespace nines::up {

Spike::~Spike() {
  Stop();
}

void Spike::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  stop_ = false;
}

::nines::Status Spike::Start(const std::string& region, const std::string& source_ip,
                             const Endpoint& lb, int rate, int seconds) {
  std::lock_guard lock(mu_);
  if (status_.running) {
    return ::nines::Status::FailedPrecondition("a spike is already running (region " +
                                               status_.region + ")");
  }
  if (thread_.joinable()) thread_.join();
  status_ = SpikeStatus{};
  status_.running = true;
  status_.region = region;
  status_.rate = rate;
  status_.seconds = seconds;
  thread_ =
      std::thread([this, lb, source_ip, rate, seconds] { Run(lb, source_ip, rate, seconds); });
  return ::nines::Status::Ok();
}

SpikeStatus Spike::Status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void Spike::Run(const Endpoint& lb, std::string source_ip, int rate, int seconds) {
  using Clock = std::chrono::steady_clock;
  // One keep-alive connection from the source address, reopened when the lb closes it.
  http::ClientConnection client;
  http::ClientOptions options = http::ClientOptions().Timeout(1000).Source(std::move(source_ip));
  Clock::time_point start = Clock::now();
  Clock::time_point end = start + std::chrono::seconds(seconds);
  int64_t sent = 0;
  while (!stop_ && Clock::now() < end) {
    // Pace: request k goes out at start + k / rate.
    Clock::time_point due = start + std::chrono::microseconds(sent * 1000000 / rate);
    if (due > Clock::now()) std::this_thread::sleep_until(due);
    http::ClientResponse r = client.Request(lb.host, lb.port, "GET", "/", "", options);
    sent++;
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::lock_guard lock(mu_);
    status_.sent = sent;
    // Over the time used so far (at least the time the requests were due in),
    // so a sender that cannot keep up shows it.
    status_.achieved_rate =
        static_cast<double>(sent) / std::max(elapsed, static_cast<double>(sent) / rate);
    if (!r.ok || r.status >= 500) {
      status_.failed++;
    } else if (r.status == 429) {
      status_.rate_limited++;
    } else {
      status_.ok++;
    }
  }
  std::lock_guard lock(mu_);
  status_.running = false;
}

}  // namespace nines::up
