// HealthChecker against scripted servers on 127.0.0.1: the GET it sends,
// 2xx/3xx passing and other statuses failing, a silent server timing out, a
// refused connection, and rise/fall turning the state.
#include "health/health_checker.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "http/scripted_server.h"

namespace nines::health {
namespace {

HealthCheckSpec Spec(int interval_ms, int timeout_ms, int fall = 2) {
  HealthCheckSpec spec;
  spec.interval_ms = interval_ms;
  spec.timeout_ms = timeout_ms;
  spec.fall = fall;
  return spec;
}

// Runs checks until `n` have finished (or 10 s pass); returns the last result.
CheckResult RunChecks(asio::io_context& io, const std::shared_ptr<HealthChecker>& checker,
                      uint64_t n) {
  checker->Start();
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (checker->checks() < n && std::chrono::steady_clock::now() < give_up) {
    io.restart();  // a run that ran out of work leaves the context stopped
    io.run_for(std::chrono::milliseconds(10));
  }
  checker->Stop();
  // The stopped check's handlers run out: io stops when it has no work left (at most 10 s).
  io.restart();
  give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!io.stopped() && std::chrono::steady_clock::now() < give_up) {
    io.run_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(checker->checks(), n);
  return checker->last_result();
}

std::shared_ptr<HealthChecker> Checker(asio::io_context& io, int port, HealthCheckSpec spec,
                                       HealthChecker::ChangeCallback on_change = nullptr) {
  Endpoint target;
  target.host = "127.0.0.1";
  target.port = static_cast<uint16_t>(port);
  return std::make_shared<HealthChecker>(io, target, spec, true, std::move(on_change));
}

std::string Status(int code) {
  return "HTTP/1.1 " + std::to_string(code) + " X\r\nContent-Length: 0\r\n\r\n";
}

TEST(HealthChecker, SendsOneGetAndPassesOn2xxAnd3xx) {
  http::ScriptedServer ok([](const std::string&) { return Status(200); });
  http::ScriptedServer redirect([](const std::string&) { return Status(302); });
  asio::io_context io;
  CheckResult r = RunChecks(io, Checker(io, ok.port(), Spec(1000, 500)), 1);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, "");
  ASSERT_GE(ok.requests().size(), 1u);
  EXPECT_EQ(ok.requests()[0],
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(ok.port()) +
                "\r\nUser-Agent: nines-health-check\r\nConnection: close\r\n\r\n");
  r = RunChecks(io, Checker(io, redirect.port(), Spec(1000, 500)), 1);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 302);
}

TEST(HealthChecker, OtherStatusesFailAndFallTakesTheTargetDown) {
  http::ScriptedServer failing([](const std::string&) { return Status(503); });
  asio::io_context io;
  int changes = 0;
  auto checker =
      Checker(io, failing.port(), Spec(300, 300, /*fall=*/2), [&](bool up, const CheckResult&) {
        EXPECT_FALSE(up);
        ++changes;
      });
  CheckResult r = RunChecks(io, checker, 2);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.error, "status 503");
  EXPECT_FALSE(checker->up());
  EXPECT_EQ(changes, 1);
}

TEST(HealthChecker, SilentServerTimesOutAndRefusedConnectionFails) {
  http::ScriptedServer silent([](const std::string&) { return std::string(); });
  asio::io_context io;
  CheckResult r = RunChecks(io, Checker(io, silent.port(), Spec(1000, 100)), 1);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "timeout");
  EXPECT_GE(r.latency_ms, 100);

  int port = 0;
  {
    http::ScriptedServer gone([](const std::string&) { return std::string(); });
    port = gone.port();
  }
  r = RunChecks(io, Checker(io, port, Spec(1000, 500)), 1);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("connect 127.0.0.1:"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace nines::health
