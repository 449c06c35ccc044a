// AppServer: routing, health, status, metrics and the drain on SIGTERM.
// The orders endpoints themselves are in orders_api.cc.
#include "app/app_server.h"

#include <fmt/format.h>
#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <random>

#include "base/log.h"

namespace nines::app {
namespace {

StoreClientOptions StoreOptions(const AppConfig& c, const Clock& clock) {
  StoreClientOptions o;
  o.clock = &clock;
  o.members = c.store;
  o.connections_per_member = c.store_connections;
  o.max_pending = static_cast<size_t>(c.max_pending);
  // A member silent for half the budget is given up for the next one, so a
  // request survives at least one frozen or dead member within store_timeout_ms.
  o.attempt_timeout_ms = std::max(100, c.store_timeout_ms / 2);
  o.health_interval_ms = c.health_interval_ms;
  o.healthy_within_ms = c.healthy_within_ms;
  o.reply_limits.max_bulk_bytes = 16u << 20;
  o.password = c.store_password;
  return o;
}

http::ServerOptions HttpOptions(const AppConfig& c) {
  http::ServerOptions o;
  o.max_connections = static_cast<size_t>(c.max_connections);
  o.max_body_bytes = static_cast<size_t>(c.max_body_bytes);
  return o;
}

uint64_t RandomNonce(const Clock& wall) {
  std::random_device rd;
  uint64_t n = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return n ^ static_cast<uint64_t>(wall.NowNanos());
}

// The route label of a path, for metrics (bounded set).
std::string RouteOf(const http::Request& r) {
  if (r.path == "/orders") return r.method == "POST" ? "post_orders" : "list_orders";
  if (r.path.rfind("/orders/", 0) == 0) return "get_order";
  if (r.path == "/healthz" || r.path == "/livez" || r.path == "/" || r.path == "/status" ||
      r.path == "/metrics") {
    return r.path == "/" ? "root" : r.path.substr(1);
  }
  return "other";
}

}  // namespace

AppServer::AppServer(AppConfig config, const Clock& clock, const Clock& wall)
    : config_(std::move(config)),
      clock_(clock),
      wall_(wall),
      store_(io_, StoreOptions(config_, clock_), &metrics_),
      server_(
          io_, config_.listen,
          [this](const http::Request& request, http::Responder respond) {
            Handle(request, std::move(respond));
          },
          HttpOptions(config_)),
      signals_(io_, SIGINT, SIGTERM),
      drain_timer_(io_) {
  rng_.seed(RandomNonce(wall_));
  started_ms_ = clock_.NowMillis();
  counters_.created = metrics_.GetCounter("nines_app_orders_created_total", "orders created (201)");
  counters_.replayed = metrics_.GetCounter("nines_app_orders_replayed_total",
                                           "POSTs answered with an existing order (same key, 200)");
  counters_.recovered = metrics_.GetCounter(
      "nines_app_orders_recovered_total",
      "POSTs whose MSETNX was refused because an earlier attempt of the same request committed");
  counters_.store_unavailable = metrics_.GetCounter("nines_app_store_unavailable_responses_total",
                                                    "503 answers: store unreachable in time");
  counters_.overloaded = metrics_.GetCounter("nines_app_overloaded_responses_total",
                                             "503 answers: max_pending store commands pending");
  counters_.unknown_outcome = metrics_.GetCounter(
      "nines_app_unknown_outcome_responses_total",
      "504 answers: a POST failed after its order was sent, so the order may exist");
  counters_.claim_waits = metrics_.GetCounter(
      "nines_app_idempotency_waits_total",
      "POSTs that found another request's claim on their Idempotency-Key and waited for it");
  counters_.takeovers = metrics_.GetCounter(
      "nines_app_idempotency_takeovers_total",
      "POSTs that claimed a key after waiting on another request's claim, which then ran out "
      "(its app died or stalled, lost the store for a lease, or failed before its order's write)");
  counters_.lost_commits = metrics_.GetCounter(
      "nines_app_idempotency_lost_commits_total",
      "POSTs whose order write was refused because another request's order for the key won");
  counters_.claims_lost = metrics_.GetCounter(
      "nines_app_idempotency_claims_lost_total",
      "claim renewals that found the claim gone (its lease ran out while the request ran)");
  latency_ =
      metrics_.GetHistogram("nines_app_request_duration_seconds", "time from request to response");
  metrics_.AddGaugeCallback("nines_app_http_connections", "open HTTP connections", {},
                            [this] { return static_cast<double>(server_.connections()); });
  metrics_.AddGaugeCallback("nines_app_http_max_connections", "max_connections", {},
                            [this] { return static_cast<double>(config_.max_connections); });
  metrics_.AddGaugeCallback("nines_app_max_body_bytes", "largest POST /orders body accepted", {},
                            [this] { return static_cast<double>(config_.max_body_bytes); });
  metrics_.AddGaugeCallback("nines_app_in_flight", "HTTP requests being handled", {},
                            [this] { return static_cast<double>(in_flight_); });
  metrics_.AddGaugeCallback("nines_app_draining", "1 after SIGTERM", {},
                            [this] { return draining_ ? 1.0 : 0.0; });
  metrics_.AddGaugeCallback("nines_app_store_reachable", "1 if a store member answered lately", {},
                            [this] { return store_.Reachable() ? 1.0 : 0.0; });
  metrics_.AddGaugeCallback("nines_app_healthy", "1 if GET /healthz answered 200 last", {},
                            [this] { return Healthy() ? 1.0 : 0.0; });
}

AppServer::~AppServer() {
  server_.Stop();
  store_.Stop();
}

void AppServer::Start() {
  server_.Start();
  server_.ExportMetrics(metrics_);
  store_.Start();
  WatchSignals();
}

int AppServer::Run() {
  io_.run();
  return exit_status_;
}

bool AppServer::Healthy() const {
  return !draining_ && ready_;
}

void AppServer::Readiness(const std::function<void(http::Response)>& reply) {
  int64_t now = clock_.NowMillis();
  int64_t cache_ms = std::max(1, config_.health_interval_ms / 2);
  if (probed_ms_ >= 0 && now - probed_ms_ < cache_ms) {
    if (ready_) return reply(http::Response::Json(200, R"({"status":"ok"})"));
    nlohmann::json j = {{"status", "store not ready"}, {"why", not_ready_why_}};
    return reply(http::Response::Json(
        503, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  }
  probe_waiters_.push_back(reply);
  if (probing_) return;
  probing_ = true;
  // Short: a balancer's health check waits for this answer.
  int deadline = std::min(config_.store_timeout_ms, kReadinessDeadlineMs);
  store_.Call({"GET", "nines:app:ready"}, now + deadline, [this](const StoreResult& r) {
    if (!r.ok()) return ProbeDone(false, r.error.empty() ? "store unavailable" : r.error);
    if (r.reply.IsError()) return ProbeDone(false, "store error: " + r.reply.text);
    ProbeDone(true, "");
  });
}

void AppServer::ProbeDone(bool ready, const std::string& why) {
  if (ready_ != ready) {
    LogInfo("app", "readiness: {}", ready ? "the store serves: ready" : "not ready: " + why);
  }
  ready_ = ready;
  not_ready_why_ = why;
  probed_ms_ = clock_.NowMillis();
  probing_ = false;
  std::vector<std::function<void(http::Response)>> waiters = std::move(probe_waiters_);
  probe_waiters_.clear();
  for (auto& w : waiters) {
    if (draining_) {
      w(http::Response::Json(503, R"({"status":"draining"})"));
    } else {
      Readiness(w);
    }
  }
}

void AppServer::WatchSignals() {
  signals_.async_wait([this](std::error_code ec, int signal) {
    if (ec) return;
    if (draining_) {
      LogWarn("app", "second stop signal: exiting now with {} requests in flight", in_flight_);
      server_.Stop();
      store_.Stop();
      io_.stop();
      return;
    }
    draining_ = true;
    drain_started_ms_ = clock_.NowMillis();
    LogInfo("app", "signal {}: draining ({} requests in flight, up to {} ms)", signal, in_flight_,
            config_.drain_ms);
    WatchSignals();
    CheckDrain();
  });
}

void AppServer::CheckDrain() {
  int64_t waited = clock_.NowMillis() - drain_started_ms_;
  if (waited >= config_.drain_linger_ms && !listener_closed_) {
    // Past the linger: no new connections, so the requests still coming on
    // open ones are the only thing left to finish.
    listener_closed_ = true;
    server_.Stop();
  }
  bool done = in_flight_ == 0 && waited >= config_.drain_linger_ms;
  if (done || waited >= config_.drain_ms) {
    if (!done) {
      LogWarn("app", "drain_ms ({} ms) passed with {} requests in flight: exiting",
              config_.drain_ms, in_flight_);
    } else {
      LogInfo("app", "drained after {} ms: exiting", waited);
    }
    signals_.cancel();
    server_.Stop();
    store_.Stop();
    // The last responses were handed to their connections' loops as posted
    // writes: let them reach the sockets before the loop stops.
    drain_timer_.expires_after(std::chrono::milliseconds(100));
    drain_timer_.async_wait([this](std::error_code) { io_.stop(); });
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(10));
  drain_timer_.async_wait([this](std::error_code ec) {
    if (!ec) CheckDrain();
  });
}

void AppServer::Handle(const http::Request& request, http::Responder respond) {
  ++in_flight_;
  int64_t start = clock_.NowMillis();
  std::string route = RouteOf(request);
  auto reply = [this, respond = std::move(respond), start, route, method = request.method,
                target = request.target,
                answered = std::make_shared<bool>(false)](http::Response response) {
    if (*answered) return;
    *answered = true;
    --in_flight_;
    int64_t took = clock_.NowMillis() - start;
    latency_->Observe(static_cast<double>(took) / 1000.0);
    LogDebug("app", "{} {} {} {} ms", method, target, response.status, took);
    metrics_
        .GetCounter("nines_app_http_requests_total", "HTTP requests by route and status",
                    {{"route", route}, {"code", std::to_string(response.status)}})
        ->Add();
    respond(std::move(response));
  };
  try {
    Route(request, reply);
  } catch (const std::exception& e) {
    LogError("app", "{} {}: {}", request.method, request.target, e.what());
    reply(http::JsonError(500, "internal error"));
  }
}

void AppServer::Route(const http::Request& request,
                      const std::function<void(http::Response)>& reply) {
  const std::string& path = request.path;
  bool get = request.method == "GET" || request.method == "HEAD";
  auto method_not_allowed = [&](const char* allow) {
    http::Response r = http::JsonError(405, "method not allowed");
    r.headers.emplace_back("Allow", allow);
    reply(std::move(r));
  };
  if (path == "/orders") {
    if (request.method == "POST") return PostOrders(request, reply);
    if (get) return GetOrders(request, reply);
    return method_not_allowed("GET, HEAD, POST");
  }
  if (path.rfind("/orders/", 0) == 0) {
    if (!get) return method_not_allowed("GET, HEAD");
    return GetOrder(path.substr(8), reply);
  }
  if (!get) {
    if (path == "/" || path == "/healthz" || path == "/livez" || path == "/status" ||
        path == "/metrics") {
      return method_not_allowed("GET, HEAD");
    }
    return reply(http::JsonError(404, "not found"));
  }
  if (path == "/") {
    nlohmann::json j = {{"app", config_.name}, {"region", config_.region}};
    return reply(http::Response::Json(200, j.dump()));
  }
  if (path == "/healthz") {
    if (draining_) return reply(http::Response::Json(503, R"({"status":"draining"})"));
    return Readiness(reply);
  }
  if (path == "/livez") return reply(http::Response::Json(200, R"({"status":"alive"})"));
  if (path == "/status") return reply(http::Response::Json(200, StatusJson()));
  if (path == "/metrics") {
    http::Response r = http::Response::Text(200, metrics_.RenderPrometheus());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return reply(std::move(r));
  }
  reply(http::JsonError(404, "not found"));
}

http::Response AppServer::StoreFailure(const StoreResult& result) {
  if (result.outcome == StoreResult::Outcome::kOverloaded) {
    counters_.overloaded->Add();
    http::Response r = http::JsonError(503, "overloaded");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  if (result.outcome == StoreResult::Outcome::kUnavailable) {
    counters_.store_unavailable->Add();
    LogWarn("app", "store unavailable after {} attempts: {}", result.attempts, result.error);
    http::Response r = http::JsonError(503, "store unavailable");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  // A reply the store meant (not retryable): -OOM, -ERR ...
  LogWarn("app", "store error: {}", result.reply.Describe());
  return http::JsonError(500, "store error: " + result.reply.text);
}

std::string AppServer::StatusJson() const {
  nlohmann::json j = {
      {"app", config_.name},
      {"region", config_.region},
      {"listen", config_.listen.ToString()},
      {"healthy", Healthy()},
      {"draining", draining_},
      {"uptime_ms", clock_.NowMillis() - started_ms_},
      {"in_flight", in_flight_},
      {"connections", server_.connections()},
      {"limits",
       {{"max_connections", config_.max_connections},
        {"max_body_bytes", config_.max_body_bytes},
        {"max_pending", config_.max_pending},
        {"store_timeout_ms", config_.store_timeout_ms},
        {"idempotency_lease_ms", config_.idempotency_lease_ms},
        {"drain_ms", config_.drain_ms}}},
      {"orders",
       {{"created", counters_.created->Value()},
        {"replayed", counters_.replayed->Value()},
        {"recovered", counters_.recovered->Value()},
        {"store_unavailable", counters_.store_unavailable->Value()},
        {"overloaded", counters_.overloaded->Value()},
        {"unknown_outcome", counters_.unknown_outcome->Value()},
        {"claim_waits", counters_.claim_waits->Value()},
        {"takeovers", counters_.takeovers->Value()},
        {"lost_commits", counters_.lost_commits->Value()},
        {"claims_lost", counters_.claims_lost->Value()}}},
      {"store", nlohmann::json::parse(store_.StatusJson())},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace nines::app
