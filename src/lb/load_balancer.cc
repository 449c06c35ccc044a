// LoadBalancer: wiring of workers, health checks, admin API, reload, drain.
#include "lb/load_balancer.h"

#include <fmt/format.h>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <ctime>
#include <set>
#include <stdexcept>

#include "base/clock.h"
#include "base/log.h"
#include "http/admin_guard.h"
#include "lb/byte_stream.h"
#include "lb/h2_connection.h"

namespace nines::lb {

LoadBalancer::LoadBalancer(LbConfig config) {
  config_file_ = config.file;
  started_ms_ = SteadyClock::Instance().NowMillis();
  shared_.retry_budget.SetRatio(config.retry_budget_ratio);
  int threads = config.threads;
  shared_.Publish(BuildRuntime(std::move(config), nullptr));
  loops_ = std::make_unique<EventLoopGroup>(threads);
  for (int i = 0; i < loops_->size(); ++i) {
    workers_.push_back(std::make_unique<Worker>(loops_->loop(i), i, shared_));
  }
  shared_.wake_queues = [this] {
    for (auto& w : workers_) w->RequestDrain();
  };
}

LoadBalancer::~LoadBalancer() {
  loops_->Stop();
  workers_.clear();
}

std::shared_ptr<ServerState> LoadBalancer::MakeServer(const LbServerConfig& config) {
  auto s = std::make_shared<ServerState>(config.name, config.address);
  s->weight.store(config.weight);
  s->backup.store(config.backup);
  s->max_conn.store(config.max_conn);
  MetricsRegistry& r = shared_.registry;
  MetricsRegistry::Labels labels{{"server", config.name}};
  s->requests = r.GetCounter("nines_lb_server_requests_total",
                             "Requests sent to each server (retries included).", labels);
  for (int c = 1; c <= 5; ++c) {
    s->responses_by_class[c] = r.GetCounter(
        "nines_lb_server_responses_total", "Responses from each server by status class.",
        {{"server", config.name}, {"code", std::to_string(c) + "xx"}});
  }
  s->failures =
      r.GetCounter("nines_lb_server_failures_total",
                   "Connect errors, resets, timeouts and bad responses per server.", labels);
  s->ejections = r.GetCounter("nines_lb_server_ejections_total",
                              "Times each server was ejected by passive checks.", labels);
  s->latency_ejections_counter =
      r.GetCounter("nines_lb_server_latency_ejections_total",
                   "Times each server was ejected for its time to first byte.", labels);
  s->latency = r.GetHistogram("nines_lb_server_request_duration_seconds",
                              "Request duration per server.", labels);
  std::weak_ptr<ServerState> weak = s;
  r.AddGaugeCallback(
      "nines_lb_server_up",
      "1 if the server is taking traffic (health up, not ejected, not draining).", labels, [weak] {
        auto server = weak.lock();
        return server && server->Available(SteadyClock::Instance().NowMillis()) ? 1.0 : 0.0;
      });
  r.AddGaugeCallback("nines_lb_server_active_requests", "Requests in flight per server.", labels,
                     [weak] {
                       auto server = weak.lock();
                       return server ? static_cast<double>(server->active_requests.load()) : 0.0;
                     });
  return s;
}

void LoadBalancer::StartChecker(const std::shared_ptr<ServerState>& server,
                                const health::HealthCheckSpec& spec) {
  std::weak_ptr<ServerState> weak = server;
  server->checker = std::make_shared<health::HealthChecker>(
      control_, server->address, spec, server->health_up.load(),
      [weak](bool up, const health::CheckResult& last) {
        auto s = weak.lock();
        if (!s) return;
        s->health_up.store(up);
        if (up) {
          LogInfo("lb", "server {} ({}) is up", s->name, s->address.ToString());
        } else {
          LogWarn("lb", "server {} ({}) is down: {}", s->name, s->address.ToString(), last.error);
        }
      });
  server->checker->Start();
}

std::shared_ptr<LbRuntime> LoadBalancer::BuildRuntime(LbConfig config, const LbRuntime* old) {
  std::vector<std::shared_ptr<ServerState>> servers;
  for (const LbServerConfig& sc : config.servers) {
    std::shared_ptr<ServerState> kept;
    if (old) {
      for (const auto& o : old->pool->servers) {
        if (o->name == sc.name && o->address == sc.address) kept = o;
      }
    }
    if (kept) {
      kept->weight.store(sc.weight);
      kept->backup.store(sc.backup);
      kept->max_conn.store(sc.max_conn);
      kept->checker->Update(config.health);
      servers.push_back(kept);
    } else {
      auto s = MakeServer(sc);
      StartChecker(s, config.health);
      servers.push_back(s);
    }
  }
  auto runtime = std::make_shared<LbRuntime>();
  runtime->pool = BuildServerPool(std::move(servers), config.balance, config.hash_header);
  runtime->pool->panic_threshold = config.outlier.panic_threshold;
  runtime->pool->panic_picks = shared_.metrics.panic_picks;

  // Rate limits keep their state across a reload that does not change them.
  const RateLimitConfig& limits = config.rate_limit;
  bool same_limits = old && old->config.rate_limit == limits;
  std::vector<std::string> policy;
  if (limits.per_client) {
    const Rate& rate = *limits.per_client;
    runtime->per_client =
        same_limits ? old->per_client
                    : std::make_shared<ratelimit::KeyedRateLimiter>(
                          ratelimit::MakeGcraParams(
                              rate.count, rate.window_seconds,
                              limits.per_client_burst ? limits.per_client_burst : rate.count),
                          limits.max_clients);
    policy.push_back(fmt::format("\"client\";q={};w={}", rate.count, rate.window_seconds));
  }
  if (limits.global) {
    const Rate& rate = *limits.global;
    runtime->global = same_limits ? old->global
                                  : std::make_shared<ratelimit::GlobalRateLimiter>(
                                        rate.count, rate.window_seconds,
                                        limits.global_burst ? limits.global_burst : rate.count);
    policy.push_back(fmt::format("\"global\";q={};w={}", rate.count, rate.window_seconds));
  }
  for (const std::string& item : policy) {
    if (!runtime->rate_limit_policy.empty()) runtime->rate_limit_policy += ", ";
    runtime->rate_limit_policy += item;
  }
  if (config.tls && config.tls->hsts_max_age_s > 0) {
    runtime->hsts =
        fmt::format("Strict-Transport-Security: max-age={}{}\r\n", config.tls->hsts_max_age_s,
                    config.tls->hsts_include_subdomains ? "; includeSubDomains" : "");
  }
  runtime->config = std::move(config);
  return runtime;
}

Status LoadBalancer::BuildTls(const LbConfig& config,
                              std::shared_ptr<const tls::ServerContext>* built) {
  built->reset();
  if (!config.tls) return Status::Ok();
  tls::ServerOptions options = config.tls->server;
  // ALPN: the protocols registered for TLS (h2) first, then HTTP/1.1.
  for (const LbShared::TlsProtocol& p : shared_.tls_protocols) options.alpn.push_back(p.alpn);
  options.alpn.push_back("http/1.1");
  std::shared_ptr<tls::ServerContext> context;
  Status s = tls::ServerContext::Build(
      options, config.tls->session_tickets ? ticket_keys_ : nullptr, &context);
  *built = std::move(context);
  return s;
}

void LoadBalancer::RotateTicketKeys() {
  auto runtime = shared_.runtime();
  if (!runtime->config.tls) return;
  ticket_timer_->expires_after(
      std::chrono::milliseconds(runtime->config.tls->ticket_key_rotate_ms));
  ticket_timer_->async_wait([this](std::error_code ec) {
    if (ec) return;
    ticket_keys_->Rotate();
    LogDebug("lb", "session-ticket key rotated");
    RotateTicketKeys();
  });
}

void LoadBalancer::Start() {
  // [h2] with [tls]: ALPN "h2" hands the connection, handshake done, to the
  // HTTP/2 front end.
  if (shared_.runtime()->config.h2.alpn) {
    shared_.tls_protocols.push_back(
        {"h2",
         [](Worker& worker, asio::ip::tcp::socket socket, std::unique_ptr<tls::Stream> stream) {
           std::make_shared<H2Connection>(
               worker, MakeTlsByteStream(std::move(socket), std::move(stream)), "https")
               ->Start();
         }});
  }
  {
    // The TLS contexts are built here, after every ALPN protocol registered.
    auto runtime = std::make_shared<LbRuntime>(*shared_.runtime());
    if (Status s = BuildTls(runtime->config, &runtime->tls); !s.ok()) {
      throw std::runtime_error("[tls]: " + s.message());
    }
    if (runtime->config.tls) {
      for (const std::string& w : runtime->config.tls->warnings) LogWarn("lb", "{}", w);
    }
    shared_.Publish(std::move(runtime));
  }
  const LbConfig& config = shared_.runtime()->config;
  for (auto& w : workers_) w->Start(config.listen);
  if (config.h2.listen) {
    for (auto& w : workers_) w->StartH2(*config.h2.listen);
  }
  if (config.tls) {
    ticket_timer_ = std::make_unique<asio::steady_timer>(control_);
    RotateTicketKeys();
  }
  admin_ = std::make_unique<http::SimpleServer>(
      control_, config.admin, [this](const http::Request& request, const http::Responder& respond) {
        HandleAdmin(request, respond);
      });
  admin_->Start();
  admin_->ExportMetrics(shared_.registry);
  auto runtime = shared_.runtime();
  if (config.cluster && runtime->global) {
    cluster_ = std::make_unique<ratelimit::RateLimitCluster>(control_, *config.cluster,
                                                             runtime->global.get());
    cluster_->Start();
    ratelimit::RateLimitCluster* cluster = cluster_.get();
    constexpr const char* kRefusedHelp =
        "Rate-limit cluster reports dropped, by reason (malformed; unauthenticated: no or a "
        "wrong MAC; replayed: a sequence number already taken).";
    shared_.registry.AddCounterCallback(
        "nines_lb_cluster_reports_refused_total", kRefusedHelp, {{"reason", "malformed"}},
        [cluster] { return static_cast<double>(cluster->malformed()); });
    shared_.registry.AddCounterCallback(
        "nines_lb_cluster_reports_refused_total", kRefusedHelp, {{"reason", "unauthenticated"}},
        [cluster] { return static_cast<double>(cluster->unauthenticated()); });
    shared_.registry.AddCounterCallback(
        "nines_lb_cluster_reports_refused_total", kRefusedHelp, {{"reason", "replayed"}},
        [cluster] { return static_cast<double>(cluster->replayed()); });
    if (config.cluster->key.empty()) {
      LogWarn("lb",
              "[cluster] has no key_file: any host that can send UDP to {} from a peer's address "
              "can change this balancer's share of the global limit",
              config.cluster->bind.ToString());
    }
  }
}

int LoadBalancer::Run() {
  WatchSignals();
  loops_->Start();
  control_.run();
  loops_->Stop();
  return 0;
}

void LoadBalancer::WatchSignals() {
  auto signals = std::make_shared<asio::signal_set>(control_, SIGINT, SIGTERM, SIGHUP);
  signals->async_wait([this, signals](std::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      Reload();
    } else if (draining_) {
      LogWarn("lb", "second stop signal: exiting now");
      control_.stop();
      return;
    } else {
      LogInfo("lb", "signal {}: draining", signal);
      Drain();
    }
    WatchSignals();
  });
}

bool LoadBalancer::Reload() {
  ConfigErrors errors;
  std::optional<LbConfig> config = ReadLbConfig(config_file_, &errors);
  if (!config) {
    ++reload_failures_;
    for (const std::string& line : errors.lines()) LogError("lb", "reload rejected: {}", line);
    LogError("lb", "reload rejected: keeping the running config");
    return false;
  }
  std::shared_ptr<const LbRuntime> old = shared_.runtime();
  if (!(config->listen == old->config.listen) || !(config->admin == old->config.admin) ||
      config->threads != old->config.threads || config->h2.listen != old->config.h2.listen ||
      config->h2.alpn != old->config.h2.alpn) {
    LogWarn("lb",
            "reload: listen, admin, h2.listen, h2 over TLS and threads take effect only on "
            "restart");
    config->listen = old->config.listen;
    config->admin = old->config.admin;
    config->threads = old->config.threads;
    config->h2.listen = old->config.h2.listen;
    config->h2.alpn = old->config.h2.alpn;
  }
  std::set<std::string> new_names;
  for (const auto& s : config->servers) new_names.insert(s.name);
  shared_.retry_budget.SetRatio(config->retry_budget_ratio);
  bool cluster_changed = config->cluster.has_value() != old->config.cluster.has_value() ||
                         (config->cluster && !(config->cluster->bind == old->config.cluster->bind));
  if (cluster_changed) {
    LogWarn("lb", "reload: [cluster] changes take effect only on restart");
    config->cluster = old->config.cluster;
  }
  if (config->tls.has_value() != old->config.tls.has_value() ||
      (config->tls && !(config->tls->listen == old->config.tls->listen))) {
    LogWarn("lb",
            "reload: adding, removing or moving the [tls] listener takes effect only on "
            "restart");
    if (!old->config.tls) config->tls.reset();
    if (config->tls) config->tls->listen = old->config.tls->listen;
  }
  // Certificates and keys are read again: new connections get the new ones,
  // open connections keep the context they started with.
  std::shared_ptr<const tls::ServerContext> tls_context;
  if (Status s = BuildTls(*config, &tls_context); !s.ok()) {
    ++reload_failures_;
    LogError("lb", "reload rejected: {}; keeping the running config", s.message());
    return false;
  }
  if (config->tls) {
    for (const std::string& w : config->tls->warnings) LogWarn("lb", "{}", w);
  }
  auto runtime = BuildRuntime(std::move(*config), old.get());
  runtime->tls = std::move(tls_context);
  if (cluster_) {
    if (runtime->global) {
      cluster_->SetLimiter(runtime->global.get());
    } else {
      LogWarn("lb", "reload: the global limit is gone; the cluster keeps the old one");
      runtime->global = old->global;
    }
  }
  int added = 0, removed = 0;
  for (const auto& s : runtime->pool->servers) {
    bool existed = false;
    for (const auto& o : old->pool->servers) existed = existed || o == s;
    added += existed ? 0 : 1;
  }
  for (const auto& o : old->pool->servers) {
    bool stays = false;
    for (const auto& s : runtime->pool->servers) stays = stays || o == s;
    if (stays) continue;
    ++removed;
    o->removed.store(true);
    o->checker->Stop();
    if (!new_names.count(o->name)) {
      for (const char* family :
           {"nines_lb_server_requests_total", "nines_lb_server_responses_total",
            "nines_lb_server_failures_total", "nines_lb_server_ejections_total",
            "nines_lb_server_latency_ejections_total", "nines_lb_server_request_duration_seconds",
            "nines_lb_server_up", "nines_lb_server_active_requests"}) {
        shared_.registry.RemoveSeries(family, "server", o->name);
      }
    }
  }
  size_t total = runtime->pool->servers.size();
  shared_.Publish(std::move(runtime));
  ++reloads_;
  LogInfo("lb", "reloaded {}: {} servers ({} added, {} removed)", config_file_, total, added,
          removed);
  return true;
}

void LoadBalancer::Drain() {
  if (draining_) return;
  draining_ = true;
  shared_.draining.store(true);
  for (auto& w : workers_) {
    Worker* worker = w.get();
    asio::post(worker->io(), [worker] { worker->StopAccepting(); });
  }
  int64_t deadline =
      SteadyClock::Instance().NowMillis() + shared_.runtime()->config.timeouts.drain_ms;
  FinishDrain(deadline);
}

void LoadBalancer::FinishDrain(int64_t deadline_ms) {
  int64_t now = SteadyClock::Instance().NowMillis();
  int open = shared_.connections.load();
  if (open > 0 && now < deadline_ms) {
    auto timer = std::make_shared<asio::steady_timer>(control_, std::chrono::milliseconds(50));
    timer->async_wait([this, timer, deadline_ms](std::error_code) { FinishDrain(deadline_ms); });
    return;
  }
  if (open > 0) LogWarn("lb", "drain timeout: closing {} connections", open);
  for (auto& w : workers_) {
    Worker* worker = w.get();
    asio::post(worker->io(), [worker] { worker->CloseAll(); });
  }
  for (const auto& s : shared_.runtime()->pool->servers) s->checker->Stop();
  if (admin_) admin_->Stop();
  if (cluster_) cluster_->Stop();
  LogInfo("lb", "stopped");
  control_.stop();
}

bool LoadBalancer::SetDraining(const std::string& name, bool draining) {
  for (const auto& s : shared_.runtime()->pool->servers) {
    if (s->name == name) {
      s->draining.store(draining);
      LogInfo("lb", "server {} {}", name, draining ? "draining" : "enabled");
      return true;
    }
  }
  return false;
}

std::string LoadBalancer::StatusJson() {
  auto runtime = shared_.runtime();
  int64_t now = SteadyClock::Instance().NowMillis();
  nlohmann::json servers = nlohmann::json::array();
  for (const auto& s : runtime->pool->servers) {
    health::CheckResult last = s->checker->last_result();
    nlohmann::json responses;
    for (int c = 1; c <= 5; ++c) {
      responses[std::to_string(c) + "xx"] = s->responses_by_class[c]->Value();
    }
    nlohmann::json check = {{"checks", s->checker->checks()}};
    if (last.at_ms > 0) {
      check["ok"] = last.ok;
      check["status"] = last.status;
      check["error"] = last.error;
      check["latency_ms"] = last.latency_ms;
      check["age_ms"] = now - last.at_ms;
    }
    int64_t ejected_for = s->ejected_until_ms.load() - now;
    servers.push_back({
        {"name", s->name},
        {"address", s->address.ToString()},
        {"state", s->StateName(now)},
        {"backup", s->backup.load()},
        {"weight", s->weight.load()},
        {"health", s->health_up.load() ? "up" : "down"},
        {"ejected", ejected_for > 0},
        {"ejected_for_ms", std::max<int64_t>(0, ejected_for)},
        {"times_ejected", s->times_ejected.load()},
        {"latency_ejections", s->latency_ejections.load()},
        {"latency_ms", s->latency_ewma_us.load() / 1000},
        {"latency_samples", s->latency_samples.load()},
        {"active_requests", s->active_requests.load()},
        {"max_conn", s->max_conn.load()},
        {"requests", s->requests->Value()},
        {"failures", s->failures->Value()},
        {"responses", responses},
        {"last_check", check},
    });
  }
  nlohmann::json status = {
      {"listen", runtime->config.listen.ToString()},
      {"balance", BalanceModeName(runtime->config.balance)},
      {"retries", runtime->config.retries},
      {"threads", runtime->config.threads},
      {"connections", shared_.connections.load()},
      {"max_connections", runtime->config.max_connections},
      {"draining", shared_.draining.load()},
      {"requests", shared_.metrics.requests->Value()},
      {"retry_budget", shared_.retry_budget.credits()},
      {"panic", InPanic(*runtime->pool, now)},
      {"reloads", reloads_},
      {"reload_failures", reload_failures_},
      {"uptime_s", (now - started_ms_) / 1000},
      {"servers", servers},
      {"queue",
       {{"depth", shared_.queued.load()},
        {"max", runtime->config.max_queue},
        {"timeout_ms", runtime->config.queue_timeout_ms}}},
  };
  nlohmann::json limits = nlohmann::json::object();
  const RateLimitConfig& rl = runtime->config.rate_limit;
  if (runtime->per_client) {
    limits["per_client"] = {
        {"rate", rl.per_client->ToString()},
        {"burst", runtime->per_client->params().burst},
        {"key", rl.client_header.empty() ? "ip" : "header:" + rl.client_header},
        {"clients", runtime->per_client->size()},
        {"max_clients", runtime->per_client->max_keys()},
        {"memory_bytes", runtime->per_client->memory_bytes()},
        {"evictions", runtime->per_client->evictions()},
        {"limited", shared_.metrics.limited_client->Value()},
    };
  }
  if (runtime->global) {
    ratelimit::GcraParams now_params = runtime->global->current();
    nlohmann::json global = {
        {"rate", rl.global->ToString()},
        {"share", runtime->global->share()},
        {"enforced_per_s", 1e9 / static_cast<double>(now_params.emission_ns)},
        {"burst", now_params.burst},
        {"limited", shared_.metrics.limited_global->Value()},
    };
    if (cluster_) {
      global["demand_per_s"] = cluster_->my_demand();
      nlohmann::json peers = nlohmann::json::array();
      for (const ratelimit::PeerStatus& p : cluster_->peers()) {
        peers.push_back({{"address", p.address},
                         {"id", p.id},
                         {"alive", p.alive},
                         {"demand_per_s", p.demand},
                         {"last_seen_age_ms", p.last_seen_age_ms}});
      }
      global["peers"] = peers;
      global["malformed_reports"] = cluster_->malformed();
      global["unauthenticated_reports"] = cluster_->unauthenticated();
      global["replayed_reports"] = cluster_->replayed();
      global["authenticated"] = !cluster_->config().key.empty();
    }
    limits["global"] = global;
  }
  status["rate_limit"] = limits;
  if (runtime->config.tls) {
    const LbTlsConfig& t = *runtime->config.tls;
    nlohmann::json certificates = nlohmann::json::array();
    if (runtime->tls) {
      for (const auto& e : runtime->tls->entries()) {
        certificates.push_back(
            {{"cert", e.files.cert},
             {"names", e.names},
             {"expires_in_s", e.not_after_unix - static_cast<int64_t>(std::time(nullptr))}});
      }
    }
    const LbMetrics& m = shared_.metrics;
    status["tls"] = {
        {"listen", t.listen.ToString()},
        {"min_version", t.server.min_version},
        {"certificates", certificates},
        {"handshakes",
         {{"ok", m.tls_ok->Value()},
          {"failed", m.tls_failed->Value()},
          {"timeout", m.tls_timeouts->Value()},
          {"rejected", m.tls_rejected->Value()},
          {"resumed", m.tls_resumed->Value()},
          {"in_progress", shared_.tls_handshakes.load()},
          {"max_in_progress", t.max_handshakes}}},
        {"session_tickets", t.session_tickets},
        {"ticket_key_rotations", ticket_keys_->rotations()},
        {"redirect_http", t.redirect_http},
    };
  }
  return status.dump(2);
}

std::string LoadBalancer::MetricsText() {
  return shared_.registry.RenderPrometheus();
}

void LoadBalancer::HandleAdmin(const http::Request& request, const http::Responder& respond) {
  const std::string& path = request.path;
  if (path == "/status" && request.method == "GET") {
    return respond(http::Response::Json(200, StatusJson()));
  }
  if (path == "/metrics" && request.method == "GET") {
    http::Response r = http::Response::Text(200, MetricsText());
    r.content_type = "text/plain; version=0.0.4";
    return respond(r);
  }
  if (path == "/healthz" && request.method == "GET") {
    bool ok = !shared_.draining.load();
    return respond(http::Response::Text(ok ? 200 : 503, ok ? "ok\n" : "draining\n"));
  }
  const std::string prefix = "/servers/";
  if (path.rfind(prefix, 0) == 0) {
    std::string rest = path.substr(prefix.size());
    size_t slash = rest.find('/');
    std::string name = rest.substr(0, slash);
    std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (request.method != "POST" || (action != "drain" && action != "enable")) {
      return respond(
          http::JsonError(405, "use POST /servers/NAME/drain or POST /servers/NAME/enable"));
    }
    // A change: the admin guard first (token, JSON, own Host, no foreign Origin).
    std::shared_ptr<const LbRuntime> runtime = shared_.runtime();
    if (auto refused = http::RefuseStateChange(
            request, {runtime->config.admin, runtime->config.admin_token, "nines-lb"})) {
      shared_.registry
          .GetCounter(
              "nines_lb_admin_refused_total",
              "Admin changes refused (no or wrong token, foreign Host or Origin, not JSON).")
          ->Add();
      return respond(*refused);
    }
    if (!SetDraining(name, action == "drain")) {
      return respond(http::JsonError(404, "no such server", {{"server", name}}));
    }
    return respond(http::Response::Json(
        200, nlohmann::json{{"server", name}, {"state", action == "drain" ? "draining" : "enabled"}}
                 .dump()));
  }
  respond(http::JsonError(404, "not found"));
}

}  // namespace nines::lb
