// `nines lb` as a whole: worker threads, the server pool and its health
// checkers, the admin listener, reload on SIGHUP and drain on SIGTERM.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/simple_server.h"
#include "lb/lb_config.h"
#include "lb/lb_shared.h"
#include "lb/worker.h"
#include "net/event_loops.h"
#include "ratelimit/cluster.h"
#include "tls/ticket_keys.h"

namespace nines::lb {

class LoadBalancer {
 public:
  explicit LoadBalancer(LbConfig config);
  ~LoadBalancer();

  // Binds every listener and starts serving. Throws std::system_error when
  // an address cannot be bound.
  void Start();
  // Runs the control loop (signals, admin, health checks) until stopped.
  // Returns the exit status.
  int Run();

  // Re-reads the config file; on error logs it and keeps the old one.
  // Returns true if the new config was applied.
  bool Reload();
  // Stops accepting, lets in-flight requests finish (bounded by drain_ms).
  void Drain();

  // Admin actions; false if there is no such server.
  bool SetDraining(const std::string& server, bool draining);
  std::string StatusJson();
  std::string MetricsText();

  asio::io_context& control() { return control_; }
  LbShared& shared() { return shared_; }

 private:
  std::shared_ptr<ServerState> MakeServer(const LbServerConfig& config);
  void StartChecker(const std::shared_ptr<ServerState>& server,
                    const health::HealthCheckSpec& spec);
  // A runtime for `config`, reusing from `old` (may be null) the servers,
  // health state and rate-limit state that did not change.
  std::shared_ptr<LbRuntime> BuildRuntime(LbConfig config, const LbRuntime* old);
  void HandleAdmin(const http::Request& request, const http::Responder& respond);
  void WatchSignals();
  // The [tls] contexts for `config` (null without [tls]); null and *error on failure.
  // The [tls] contexts of `config` into *built (null without [tls]).
  Status BuildTls(const LbConfig& config, std::shared_ptr<const tls::ServerContext>* built);
  void RotateTicketKeys();
  void FinishDrain(int64_t deadline_ms);

  asio::io_context control_;
  LbShared shared_;
  std::unique_ptr<EventLoopGroup> loops_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<http::SimpleServer> admin_;
  std::unique_ptr<ratelimit::RateLimitCluster> cluster_;
  // Session-ticket keys: one ring for every thread and every reload, rotated
  // by ticket_timer_ on the control loop.
  std::shared_ptr<tls::TicketKeys> ticket_keys_ = std::make_shared<tls::TicketKeys>();
  std::unique_ptr<asio::steady_timer> ticket_timer_;
  std::string config_file_;
  int64_t started_ms_ = 0;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
  bool draining_ = false;
};

}  // namespace nines::lb
