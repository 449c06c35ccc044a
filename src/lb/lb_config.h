// The load balancer's configuration (lb.toml, DESIGN.md) as plain structs,
// and the reader that validates it with FILE:LINE:COL errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/config.h"
#include "health/health_checker.h"
#include "http/h2_session.h"
#include "ratelimit/cluster.h"
#include "tls/server_context.h"

namespace nines::lb {

enum class BalanceMode { kRoundRobin, kLeastConn, kPowerOfTwo, kHashIp, kHashHeader };

const char* BalanceModeName(BalanceMode mode);

struct LbServerConfig {
  std::string name;
  Endpoint address;
  int weight = 1;
  bool backup = false;
  int max_conn = 0;  // requests in flight to this server at most; 0 = no limit
};

struct RateLimitConfig {
  std::optional<Rate> per_client;            // "N/unit": per client key
  int64_t per_client_burst = 0;              // 0: N
  std::string client_header;                 // client_key = "header:NAME"; empty: the address
  std::vector<Ipv4Network> trusted_proxies;  // their X-Forwarded-For names the client
  size_t max_clients = 100000;               // keys tracked at once (least recently seen evicted)
  std::optional<Rate> global;  // "N/unit" over all clients (shared with [cluster] peers)
  int64_t global_burst = 0;    // 0: N
  bool operator==(const RateLimitConfig& other) const;
};

// Passive checks (Envoy's outlier detection): a server that fails
// `consecutive_failures` times in a row (connect errors, resets, timeouts,
// bad responses, 502/503/504) is ejected for base_ejection_ms * (times
// ejected), capped at max_ejection_ms. While fewer than panic_threshold
// percent of the servers are healthy, ejections are ignored (panic routing).
struct OutlierConfig {
  int consecutive_failures = 5;
  int base_ejection_ms = 5000;
  int max_ejection_ms = 300000;
  int max_ejection_percent = 50;  // of the primaries, and of the backups (at least one)
  int panic_threshold = 50;       // percent; 0: never panic
  // Latency: a server whose time to the response head (EWMA) is above both
  // latency_ms and latency_factor x the tier's median, over at least
  // latency_min_samples responses, is ejected like a failing one.
  int latency_ms = 0;  // 0: off
  int latency_factor = 3;
  int latency_min_samples = 20;
};

struct LbTimeouts {
  int request_header_ms = 10000;  // whole request head (Slowloris): 408 after it
  int client_idle_ms = 60000;     // idle keep-alive connection from a client
  int client_body_ms = 30000;     // inactivity while receiving a body or sending a response
  int connect_ms = 2000;          // connecting to a server
  int server_ms = 30000;          // waiting for a server's response
  int pool_idle_ms = 15000;       // idle pooled server connection
  int drain_ms = 10000;           // SIGTERM: longest wait for in-flight requests
};

// [h2]: HTTP/2 to clients. `listen` serves cleartext h2 with prior
// knowledge (HAProxy's `bind ... proto h2`); the limits apply as well to h2
// chosen by ALPN on the [tls] listener, which offers it when [h2] is present.
struct H2Config {
  std::optional<Endpoint> listen;
  bool alpn = false;      // [tls] offers "h2" by ALPN ([h2] present, alpn = true); restart only
  http::H2Limits limits;  // connection_window_size: streams x initial window
};

// [tls]: the HTTPS listener (see docs/lb.md). Certificate paths are resolved
// against the config file's directory and checked when the config is read.
struct LbTlsConfig {
  Endpoint listen;
  tls::ServerOptions server;         // certificates (the first is the default), versions, ciphers
  int handshake_timeout_ms = 10000;  // a handshake not done by then: connection closed
  int max_handshakes = 1024;         // handshakes in progress at once, all threads; more: closed
  bool session_tickets = true;
  int ticket_key_rotate_ms = 3600000;  // a fresh ticket key this often (tickets live 2-3 periods)
  bool redirect_http = false;          // the plain listener answers 308 to https://
  int64_t hsts_max_age_s = 0;          // > 0: Strict-Transport-Security on HTTPS responses
  bool hsts_include_subdomains = false;
  std::vector<std::string> warnings;  // FILE:LINE:COL: warning: ... (certificates expiring soon)
  bool operator==(const LbTlsConfig&) const = default;
};

struct LbConfig {
  std::string file;
  Endpoint listen;
  Endpoint admin;
  std::string admin_token;  // admin_token / admin_token_file: needed for POSTs on `admin`
  BalanceMode balance = BalanceMode::kLeastConn;
  std::string hash_header;  // for hash_header:NAME
  int retries = 2;
  double retry_budget_ratio = 1.0;   // retries at most this share of requests: load at most 2x
  int threads = 0;                   // 0: one per core
  int max_connections = 10000;       // client connections at once
  int max_idle_per_server = 64;      // pooled idle connections per server per thread
  size_t max_buffered_body = 65536;  // bodies up to this are buffered (and can be retried)
  int max_queue = 1024;              // requests waiting for a server under max_conn, all threads
  int queue_timeout_ms = 1000;       // longest wait in that queue; then 503
  // Non-idempotent requests (POST, PATCH) carrying this header with a value
  // may be retried on another server when the connection broke before any
  // response byte (draft-ietf-httpapi-idempotency-key-header). "": never.
  std::string idempotency_key_header;
  RateLimitConfig rate_limit;
  std::optional<ratelimit::ClusterConfig> cluster;  // [cluster]: share the global limit with peers
  health::HealthCheckSpec health;
  OutlierConfig outlier;
  LbTimeouts timeouts;
  H2Config h2;
  std::vector<LbServerConfig> servers;
  std::optional<LbTlsConfig> tls;
};

// Reads and validates `file`. On error returns nullopt and fills `errors`.
std::optional<LbConfig> ReadLbConfig(const std::string& file, ConfigErrors* errors);

}  // namespace nines::lb
