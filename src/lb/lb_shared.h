// State every worker thread of the load balancer shares: the current
// configuration and server pool (replaced whole on reload), metrics, the
// retry budget and the connection count.
#pragma once

#include <asio/ip/tcp.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "http/h2_session.h"
#include "lb/balancer.h"
#include "lb/lb_config.h"
#include "lb/retry_budget.h"
#include "ratelimit/global_limiter.h"
#include "ratelimit/keyed_limiter.h"
#include "tls/server_context.h"
#include "tls/stream.h"

namespace nines::lb {

class Worker;

// One configuration generation: immutable once published.
struct LbRuntime {
  LbConfig config;
  std::shared_ptr<ServerPool> pool;
  std::shared_ptr<ratelimit::KeyedRateLimiter> per_client;  // null: no per-client limit
  std::shared_ptr<ratelimit::GlobalRateLimiter> global;     // null: no global limit
  std::string rate_limit_policy;                            // RateLimit-Policy value, "" if none
  std::shared_ptr<const tls::ServerContext> tls;            // null: no [tls] listener
  std::string hsts;  // "Strict-Transport-Security: ...\r\n" for HTTPS responses, or ""
};

struct LbMetrics {
  Counter* requests = nullptr;       // requests received (complete heads)
  Counter* local_responses[6] = {};  // answered by the balancer itself, by class
  Counter* bad_requests = nullptr;   // rejected before reaching a server
  Counter* retries = nullptr;
  Counter* retry_budget_exhausted = nullptr;
  Counter* no_server = nullptr;    // 503 because no server could take it
  Counter* panic_picks = nullptr;  // requests routed ignoring ejections (panic)
  Counter* connections_accepted = nullptr;
  Counter* connections_rejected = nullptr;  // over max_connections
  Counter* accept_errors = nullptr;         // out of descriptors or memory: accepts paused
  Counter* timeouts_header = nullptr;
  Counter* limited_client = nullptr;      // 429 by the per-client limit
  Counter* limited_global = nullptr;      // 429 by the global limit
  Counter* shed_queue_full = nullptr;     // 503: every server at max_conn and the queue full
  Counter* shed_queue_timeout = nullptr;  // 503: waited queue_timeout_ms for a server
  Counter* queue_evictions = nullptr;     // new-connection requests displaced by established ones
  Histogram* latency = nullptr;           // whole request, all servers
  Counter* h2_connections = nullptr;      // HTTP/2 connections started
  Counter* h2_streams = nullptr;          // HTTP/2 requests (streams handed to servers' path)
  Counter* h2_limits[http::kH2LimitCount] = {};  // by http::H2Limit
  Gauge* connections_active = nullptr;
  // TLS handshakes on the [tls] listener, by outcome.
  Counter* tls_ok = nullptr;
  Counter* tls_failed = nullptr;    // bad or cut ClientHello, no common cipher, peer gone
  Counter* tls_timeouts = nullptr;  // not done within handshake_timeout_ms
  Counter* tls_rejected = nullptr;  // closed at once: max_handshakes in progress
  Counter* tls_resumed = nullptr;   // of tls_ok: resumed with a session ticket
  Counter* redirects = nullptr;     // 308 to https on the plain listener
};

class LbShared {
 public:
  LbShared();

  std::shared_ptr<const LbRuntime> runtime() const {
    std::lock_guard lock(mu_);
    return runtime_;
  }
  void Publish(std::shared_ptr<const LbRuntime> runtime) {
    {
      std::lock_guard lock(mu_);
      runtime_ = std::move(runtime);
    }
    generation_.fetch_add(1, std::memory_order_release);
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  MetricsRegistry registry;
  LbMetrics metrics;
  RetryBudget retry_budget;
  std::atomic<int> connections{0};
  std::atomic<bool> draining{false};
  std::atomic<int> queued{0};  // requests waiting for a server slot, all workers
  // Wakes every worker to look at its queue (set by the LoadBalancer).
  std::function<void()> wake_queues;
  std::atomic<int> tls_handshakes{0};  // in progress, all workers
  // Protocols other than HTTP/1.1 served over TLS, chosen by ALPN (the h2
  // front end registers "h2" here before Start). A handler takes over the
  // connection after the handshake; the listener offers these ids first,
  // then "http/1.1". Set before Start, read-only after.
  struct TlsProtocol {
    std::string alpn;
    std::function<void(Worker& worker, asio::ip::tcp::socket socket,
                       std::unique_ptr<tls::Stream> stream)>
        serve;
  };
  std::vector<TlsProtocol> tls_protocols;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const LbRuntime> runtime_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace nines::lb
