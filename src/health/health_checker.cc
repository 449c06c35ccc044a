// Active HTTP health checks over Asio: connect, send one GET with
// "Connection: close", read the status line, all under one timeout.
#include "health/health_checker.h"

#include <fmt/format.h>
#include <asio/connect.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include "base/clock.h"
#include "http/parser.h"
#include "net/tcp.h"

namespace nines::health {

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

struct HealthChecker::Probe {
  explicit Probe(asio::io_context& io) : socket(io), timer(io) {}
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  std::string request;
  std::string response;
  int64_t started_ns = 0;
  bool done = false;
};

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
  auto probe = std::make_shared<Probe>(io_);
  probe->started_ns = SteadyClock::Instance().NowNanos();
  std::string host = spec_.host_header.empty() ? target_.ToString() : spec_.host_header;
  probe->request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: nines-health-check\r\nConnection: close\r\n\r\n",
      spec_.path, host);
  auto self = shared_from_this();
  probe->timer.expires_after(std::chrono::milliseconds(spec_.timeout_ms));
  probe->timer.async_wait([self, probe](std::error_code ec) {
    if (ec) return;
    self->Finish(probe, false, 0, "timeout");
  });
  probe->socket.async_connect(ToTcp(target_), [self, probe](std::error_code ec) {
    if (probe->done) return;
    if (ec) return self->Finish(probe, false, 0, "connect: " + ec.message());
    asio::async_write(probe->socket, asio::buffer(probe->request),
                      [self, probe](std::error_code ec, size_t) {
                        if (probe->done) return;
                        if (ec) return self->Finish(probe, false, 0, "send: " + ec.message());
                        probe->response.reserve(1024);
                        self->ReadResponse(probe);
                      });
  });
}

void HealthChecker::ReadResponse(std::shared_ptr<Probe> probe) {
  size_t old = probe->response.size();
  probe->response.resize(old + 1024);
  auto self = shared_from_this();
  probe->socket.async_read_some(
      asio::buffer(probe->response.data() + old, 1024),
      [self, probe, old](std::error_code ec, size_t n) {
        if (probe->done) return;
        probe->response.resize(old + n);
        if (ec && n == 0) {
          return self->Finish(probe, false, 0,
                              ec == asio::error::eof ? "closed before a response" : ec.message());
        }
        http::ResponseHead head;
        http::ParseError error;
        auto status =
            http::ParseResponseHead(probe->response, http::Limits(), "GET", &head, &error);
        if (status == http::ParseStatus::kError) {
          return self->Finish(probe, false, 0, "bad response");
        }
        if (status == http::ParseStatus::kNeedMore) {
          if (probe->response.size() > 16384) return self->Finish(probe, false, 0, "bad response");
          return self->ReadResponse(probe);
        }
        bool ok = head.status >= 200 && head.status < 400;
        self->Finish(probe, ok, head.status, ok ? "" : fmt::format("status {}", head.status));
      });
}

void HealthChecker::Finish(std::shared_ptr<Probe> probe, bool ok, int status, std::string error) {
  if (probe->done) return;
  probe->done = true;
  std::error_code ignored;
  probe->timer.cancel();
  probe->socket.close(ignored);
  if (stopped_.load()) return;

  CheckResult result;
  result.ok = ok;
  result.status = status;
  result.error = std::move(error);
  int64_t now = SteadyClock::Instance().NowNanos();
  result.latency_ms = (now - probe->started_ns) / 1'000'000;
  result.at_ms = now / 1'000'000;
  {
    std::lock_guard lock(mu_);
    last_ = result;
  }
  checks_.fetch_add(1, std::memory_order_relaxed);
  if (state_.Record(ok)) {
    up_.store(state_.up());
    if (on_change_) on_change_(state_.up(), result);
  }
  // Keep the cadence: the next check starts one interval after this one began.
  int elapsed = static_cast<int>(result.latency_ms);
  ScheduleNext(std::max(0, spec_.interval_ms - elapsed));
}

}  // namespace nines::health
