// The steps every front end (HTTP/1.1 ClientConnection, HTTP/2 H2Stream)
// takes for a request, whatever protocol carried it: rate limits, the
// balancing key, picking a server and taking a slot on it, the head sent to
// the server, whether a failed attempt may be retried, and the accounting
// of a finished response. Servers are always spoken to in HTTP/1.1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/parser.h"
#include "lb/balancer.h"
#include "lb/lb_shared.h"

namespace nines::lb {

bool IsIdempotent(std::string_view method);

// True if `config.idempotency_key_header` is set and the request carries it
// with a non-empty value: a non-idempotent request the server deduplicates,
// which may be retried when nothing of a response came back.
bool HasIdempotencyKey(const LbConfig& config, const http::RequestHead& request);

// The hash a hash_ip / hash_header pool balances by (0 for other modes).
uint64_t RequestKeyHash(const ServerPool& pool, const http::RequestHead& request,
                        std::string_view client_ip);

// The per-client and global limits' verdict on one request.
struct RateLimitOutcome {
  bool allowed = true;
  const char* scope = "";     // "client" or "global" when refused
  int64_t retry_after_s = 0;  // when refused
  std::string state;          // RateLimit field value for the response, "" if no limits
};
RateLimitOutcome AdmitByRateLimits(const LbRuntime& rt, LbMetrics& metrics, std::string_view key,
                                   int64_t now_ns);
// Retry-After and the RateLimit fields of a 429.
std::vector<std::pair<std::string, std::string>> RateLimitRejectHeaders(
    const LbRuntime& rt, const RateLimitOutcome& outcome);

// Picks a server not yet tried and takes a slot on it (max_conn), picking
// again if another thread took the last one. Index in pool.servers, or -1.
int AcquireServer(const ServerPool& pool, const PickRequest& pick, PickState* state);

// True if a server not yet tried could take the request (now or after a
// wait in the queue): a look, not a pick.
bool UntriedServerExists(const ServerPool& pool, const PickRequest& pick, const PickState& state);

enum class AttemptFailure { kConnect, kSend, kReset, kTimeout, kBadResponse, kStatus };

// May a request whose attempt failed so be tried on another server? Spends
// retry budget when it says yes.
struct RetryContext {
  int tried_count = 0;
  bool stream_started = false;  // body bytes sent and dropped: no replay possible
  bool idempotent = false;
  bool idempotency_key = false;  // HasIdempotencyKey: retried after kSend and kReset too
};
bool RetryAllowed(const LbConfig& config, LbShared& shared, int64_t now_ms,
                  const RetryContext& request, AttemptFailure failure);

// The status a client gets when no retry follows the failure.
int FailureStatus(AttemptFailure failure);

// Appends the HTTP/1.1 request head for the server: the client's headers
// without hop-by-hop ones and without the client's own claims of who it is
// (Forwarded, X-Real-IP, X-Forwarded-Proto), then X-Forwarded-For,
// X-Real-IP and X-Forwarded-Proto: `proto`. `default_host` fills a missing
// Host. Transfer-Encoding: chunked when request.body is kChunked.
void AppendUpstreamHead(std::string& out, const http::RequestHead& request,
                        std::string_view client_ip, const Endpoint& default_host,
                        std::string_view proto);

// Latency, per-server and per-class counters of a finished response.
void RecordFinished(LbShared& shared, ServerState& server, int status, int64_t start_ns,
                    int64_t end_ns);

}  // namespace nines::lb
