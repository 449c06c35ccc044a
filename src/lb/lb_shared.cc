// Registration of the balancer-wide metrics.
#include "lb/lb_shared.h"

#include <string>

namespace nines::lb {

LbShared::LbShared() {
  MetricsRegistry& r = registry;
  metrics.requests = r.GetCounter("nines_lb_requests_total", "Requests received (complete heads).");
  for (int c = 1; c <= 5; ++c) {
    metrics.local_responses[c] =
        r.GetCounter("nines_lb_local_responses_total",
                     "Responses the balancer answered itself (errors, 429, 503), by status class.",
                     {{"code", std::to_string(c) + "xx"}});
  }
  metrics.bad_requests = r.GetCounter("nines_lb_bad_requests_total",
                                      "Malformed requests rejected before reaching a server.");
  metrics.retries = r.GetCounter("nines_lb_retries_total", "Requests retried on another server.");
  metrics.retry_budget_exhausted = r.GetCounter("nines_lb_retry_budget_exhausted_total",
                                                "Retries not made because the budget was spent.");
  metrics.no_server =
      r.GetCounter("nines_lb_no_server_total", "Requests answered 503: no server could take them.");
  metrics.panic_picks =
      r.GetCounter("nines_lb_panic_total",
                   "Requests routed in panic: too few healthy servers, ejections ignored.");
  metrics.connections_accepted =
      r.GetCounter("nines_lb_connections_accepted_total", "Client connections accepted.");
  metrics.connections_rejected = r.GetCounter(
      "nines_lb_connections_rejected_total", "Client connections closed at once: max_connections.");
  metrics.accept_errors = r.GetCounter(
      "nines_lb_accept_errors_total",
      "Accepts that failed for want of file descriptors or memory; each pauses accepting.");
  metrics.timeouts_header =
      r.GetCounter("nines_lb_request_header_timeouts_total", "408: request head too slow.");
  metrics.limited_client =
      r.GetCounter("nines_lb_rate_limited_total",
                   "Requests answered 429, by the limit that refused them.", {{"scope", "client"}});
  metrics.limited_global =
      r.GetCounter("nines_lb_rate_limited_total",
                   "Requests answered 429, by the limit that refused them.", {{"scope", "global"}});
  metrics.shed_queue_full = r.GetCounter(
      "nines_lb_shed_total", "Requests answered 503 at once because every server was at max_conn.",
      {{"reason", "queue_full"}});
  metrics.shed_queue_timeout = r.GetCounter(
      "nines_lb_shed_total", "Requests answered 503 at once because every server was at max_conn.",
      {{"reason", "queue_timeout"}});
  metrics.queue_evictions = r.GetCounter(
      "nines_lb_queue_evictions_total",
      "Queued requests of new connections shed to admit requests of established ones.");
  r.AddGaugeCallback("nines_lb_queue_depth", "Requests waiting for a server slot.", {},
                     [this] { return static_cast<double>(queued.load()); });
  r.AddCounterCallback(
      "nines_lb_ratelimit_evictions_total", "Client keys evicted from the full per-client table.",
      {}, [this] {
        auto rt = runtime();
        return rt && rt->per_client ? static_cast<double>(rt->per_client->evictions()) : 0.0;
      });
  r.AddGaugeCallback(
      "nines_lb_ratelimit_clients", "Client keys tracked by the per-client limit.", {}, [this] {
        auto rt = runtime();
        return rt && rt->per_client ? static_cast<double>(rt->per_client->size()) : 0.0;
      });
  r.AddGaugeCallback(
      "nines_lb_ratelimit_memory_bytes",
      "Bytes held by the per-client table (keys are stored in at most 15 bytes).", {}, [this] {
        auto rt = runtime();
        return rt && rt->per_client ? static_cast<double>(rt->per_client->memory_bytes()) : 0.0;
      });
  r.AddGaugeCallback("nines_lb_ratelimit_global_share",
                     "This balancer's share of the global limit (1 when alone).", {}, [this] {
                       auto rt = runtime();
                       return rt && rt->global ? rt->global->share() : 0.0;
                     });
  metrics.latency = r.GetHistogram("nines_lb_request_duration_seconds",
                                   "Time from a complete request head to the end of the response.");
  metrics.h2_connections =
      r.GetCounter("nines_lb_h2_connections_total", "HTTP/2 client connections started.");
  metrics.h2_streams = r.GetCounter("nines_lb_h2_streams_total", "HTTP/2 requests (streams).");
  for (int i = 0; i < http::kH2LimitCount; ++i) {
    metrics.h2_limits[i] = r.GetCounter(
        "nines_lb_h2_limit_hits_total",
        "HTTP/2 limits hit, by limit: streams (past max_concurrent_streams: connection closed), "
        "header_list_size (431), resets (rapid reset: connection closed), continuations "
        "(CONTINUATION flood: connection closed), protocol (protocol error: connection closed).",
        {{"limit", http::H2LimitName(static_cast<http::H2Limit>(i))}});
  }
  metrics.connections_active =
      r.GetGauge("nines_lb_connections_active", "Client connections open now.");
  const char* handshakes_help = "TLS handshakes on the [tls] listener, by result.";
  metrics.tls_ok =
      r.GetCounter("nines_lb_tls_handshakes_total", handshakes_help, {{"result", "ok"}});
  metrics.tls_failed =
      r.GetCounter("nines_lb_tls_handshakes_total", handshakes_help, {{"result", "failed"}});
  metrics.tls_timeouts =
      r.GetCounter("nines_lb_tls_handshakes_total", handshakes_help, {{"result", "timeout"}});
  metrics.tls_rejected =
      r.GetCounter("nines_lb_tls_handshakes_total", handshakes_help, {{"result", "rejected"}});
  metrics.tls_resumed =
      r.GetCounter("nines_lb_tls_resumed_total", "TLS handshakes that resumed a session (ticket).");
  metrics.redirects = r.GetCounter("nines_lb_https_redirects_total",
                                   "Plain HTTP requests answered 308 to https (redirect_http).");
  r.AddGaugeCallback("nines_lb_tls_handshakes_active", "TLS handshakes in progress.", {},
                     [this] { return static_cast<double>(tls_handshakes.load()); });
}

}  // namespace nines::lb
