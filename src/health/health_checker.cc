// Active HTTP health checks: one GET with "Connection: close" through the
// async HTTP client, which reads up to the response head under one timeout.
#include "health/health_checker.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>

#include <exception>

#include "base/clock.h"
#include "http/async_client.h"
#include "http/client.h"
#include "net/tcp.h"

namespace nines::health {

namespace {

constexpr size_t kMaxHeadBytes = 16384;  // a larger head fails the check

}  // namespace

HealthCheckSpec ReadHealthSpec(TableReader& table) {
  HealthCheckSpec spec;
  spec.path = table.String("path", spec.path);
  if (spec.path.empty() || spec.path[0] != '/') {
    table.ErrorAt("path", fmt::format("'{}.path' must start with '/'", table.path()));
  }
  spec.interval_ms = static_cast<int>(table.Integer("interval_ms", spec.interval_ms, 10, 3600000));
  spec.timeout_ms = static_cast<int>(table.Integer("timeout_ms", spec.timeout_ms, 1, 3600000));
  spec.rise = static_cast<int>(table.Integer("rise", spec.rise, 1, 1000));
  spec.fall = static_cast<int>(table.Integer("fall", spec.fall, 1, 1000));
  spec.host_header = table.String("host", "");
  if (spec.timeout_ms > spec.interval_ms) {
    table.ErrorAt("timeout_ms", fmt::format("'{}.timeout_ms' ({}) must not exceed interval_ms ({})",
                                            table.path(), spec.timeout_ms, spec.interval_ms));
  }
  return spec;
}

HealthChecker::HealthChecker(asio::io_context& io, Endpoint target, HealthCheckSpec spec,
                             bool initially_up, ChangeCallback on_change)
    : io_(io),
      target_(std::move(target)),
      spec_(std::move(spec)),
      on_change_(std::move(on_change)),
      timer_(io),
      state_(spec_.rise, spec_.fall, initially_up),
      up_(initially_up) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::Start() {
  auto self = shared_from_this();
  asio::post(io_, [self] { self->RunCheck(); });
}

void HealthChecker::Stop() {
  stopped_.store(true);
  auto self = shared_from_this();
  asio::post(io_, [self] { self->timer_.cancel(); });
}

void HealthChecker::Update(const HealthCheckSpec& spec) {
  auto self = shared_from_this();
  asio::post(io_, [self, spec] {
    self->spec_ = spec;
    self->state_.SetThresholds(spec.rise, spec.fall);
  });
}

CheckResult HealthChecker::last_result() const {
  std::lock_guard lock(mu_);
  return last_;
}

void HealthChecker::ScheduleNext(int delay_ms) {
  if (stopped_.load()) return;
  timer_.expires_after(std::chrono::milliseconds(delay_ms));
  timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec || self->stopped_.load()) return;
    self->RunCheck();
  });
}

void HealthChecker::RunCheck() {
  if (stopped_.load()) return;
  int64_t started_ns = SteadyClock::Instance().NowNanos();
  std::string host = spec_.host_header.empty() ? target_.ToString() : spec_.host_header;
  std::string request = http::BuildRequest(
      "GET", host, spec_.path, "",
      http::ClientOptions().Headers("User-Agent: nines-health-check\r\nConnection: close\r\n"));
  http::ExchangeOptions options;
  options.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(spec_.timeout_ms);
  options.head_only = true;  // the status decides
  options.max_response_bytes = kMaxHeadBytes;
  asio::co_spawn(io_,
                 http::AsyncFetch(io_.get_executor(), ToTcp(target_), std::move(request), options),
                 [self = shared_from_this(), started_ns](const std::exception_ptr& e,
                                                         http::ClientResponse response) {
                   if (e) response.error = "check failed";
                   self->Finish(started_ns, response);
                 });
}

void HealthChecker::Finish(int64_t started_ns, const http::ClientResponse& response) {
  if (stopped_.load()) return;

  CheckResult result;
  result.ok = response.ok && response.status >= 200 && response.status < 400;
  result.status = response.ok ? response.status : 0;
  if (response.timed_out) {
    result.error = "timeout";
  } else if (!response.ok) {
    result.error = response.error;
  } else if (!result.ok) {
    result.error = fmt::format("status {}", response.status);
  }
  int64_t now = SteadyClock::Instance().NowNanos();
  result.latency_ms = (now - started_ns) / 1'000'000;
  result.at_ms = now / 1'000'000;
  {
    std::lock_guard lock(mu_);
    last_ = result;
  }
  checks_.fetch_add(1, std::memory_order_relaxed);
  if (state_.Record(result.ok)) {
    up_.store(state_.up());
    if (on_change_) on_change_(state_.up(), result);
  }
  // Keep the cadence: the next check starts one interval after this one began.
  int elapsed = static_cast<int>(result.latency_ms);
  ScheduleNext(std::max(0, spec_.interval_ms - elapsed));
}

}  // namespace nines::health
