// The `nines app` process: the orders API over SimpleServer, every byte of
// state kept in the store through StoreClient, health and drain on SIGTERM.
// One event loop thread runs it all (the work is waiting on the store).
#pragma once

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "app/app_config.h"
#include "app/store_client.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "http/simple_server.h"

namespace nines::app {

class AppServer {
 public:
  // GET /healthz's store round trip gives up after this long (or
  // store_timeout_ms if shorter): under a balancer's health-check timeout.
  static constexpr int kReadinessDeadlineMs = 300;

  // `clock` (monotonic) measures deadlines, drain and uptime; `wall` stamps
  // orders' created_ms. Both must outlive the server.
  explicit AppServer(AppConfig config, const Clock& clock = SteadyClock::Instance(),
                     const Clock& wall = SystemClock::Instance());
  ~AppServer();

  // Binds the listener (throws std::system_error naming the address).
  void Start();
  // Runs until drained after SIGTERM/SIGINT; returns the exit status.
  int Run();

  // For the handlers (orders_api.cc).
  struct Counters {
    Counter* created = nullptr;
    Counter* replayed = nullptr;
    Counter* recovered = nullptr;  // MSETNX lost to our own earlier attempt
    Counter* store_unavailable = nullptr;
    Counter* overloaded = nullptr;
    Counter* unknown_outcome = nullptr;  // 504: the order may or may not exist
    Counter* claim_waits = nullptr;      // POSTs that waited on another request's claim
    Counter* takeovers = nullptr;        // claims taken after another's lease ran out
    Counter* lost_commits = nullptr;     // MSETNX refused: another request's order won
    Counter* claims_lost = nullptr;      // renewals that found the claim gone
  };

 private:
  class PostOrder;
  class ListOrders;

  void Handle(const http::Request& request, http::Responder respond);
  void Route(const http::Request& request, const std::function<void(http::Response)>& reply);
  void PostOrders(const http::Request& request, std::function<void(http::Response)> reply);
  void GetOrder(const std::string& id, const std::function<void(http::Response)>& reply);
  void GetOrders(const http::Request& request, std::function<void(http::Response)> reply);
  http::Response StoreFailure(const StoreResult& result);
  std::string StatusJson() const;
  bool Healthy() const;
  // GET /healthz: readiness from a store round trip (a linearizable GET,
  // which needs a leader) with a short deadline, cached for half of
  // health_interval_ms; callers arriving during a probe share it.
  void Readiness(const std::function<void(http::Response)>& reply);
  void ProbeDone(bool ready, const std::string& why);
  void WatchSignals();
  void CheckDrain();

  AppConfig config_;
  const Clock& clock_;
  const Clock& wall_;
  asio::io_context io_;
  MetricsRegistry metrics_;
  StoreClient store_;
  http::SimpleServer server_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  Counters counters_;
  Histogram* latency_ = nullptr;
  std::mt19937_64 rng_;  // order ids
  bool ready_ = false;   // the last readiness probe succeeded
  std::string not_ready_why_ = "store not checked yet";
  int64_t probed_ms_ = -1;  // when the last probe finished (-1: never)
  bool probing_ = false;
  std::vector<std::function<void(http::Response)>> probe_waiters_;
  int64_t in_flight_ = 0;
  bool draining_ = false;
  bool listener_closed_ = false;
  int64_t drain_started_ms_ = 0;
  int64_t started_ms_ = 0;
  int exit_status_ = 0;
};

}  // namespace nines::app
