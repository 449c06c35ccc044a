// The protocol-independent steps of a proxied request (see request_path.h).
#include "lb/request_path.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "base/check.h"

namespace nines::lb {

namespace {

// http::EqualsIgnoreCase behind an inline length test: most header names
// differ in length from the one looked for, and this runs for every header
// of every request.
inline bool NameIs(std::string_view name, std::string_view lower) {
  return name.size() == lower.size() && http::EqualsIgnoreCase(name, lower);
}

void Append(std::string& out, std::string_view a) {
  out.append(a.data(), a.size());
}

}  // namespace

bool IsIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

bool HasIdempotencyKey(const LbConfig& config, const http::RequestHead& request) {
  if (config.idempotency_key_header.empty()) return false;
  const http::Header* key = request.Find(config.idempotency_key_header);
  if (key == nullptr || key->value.empty()) return false;
  // A key the client made hop-by-hop (Connection: Idempotency-Key) never
  // reaches the server, which then cannot deduplicate.
  std::string tokens;
  for (const http::Header& h : request.headers) {
    if (NameIs(h.name, "connection")) {
      if (!tokens.empty()) tokens += ',';
      Append(tokens, h.value);
    }
  }
  return !http::IsHopByHop(key->name, tokens);
}

uint64_t RequestKeyHash(const ServerPool& pool, const http::RequestHead& request,
                        std::string_view client_ip) {
  switch (pool.mode) {
    case BalanceMode::kHashIp:
      return HashBytes(client_ip);
    case BalanceMode::kHashHeader: {
      const http::Header* h = request.Find(pool.hash_header);
      return HashBytes(h ? h->value : client_ip);
    }
    default:
      return 0;
  }
}

RateLimitOutcome AdmitByRateLimits(const LbRuntime& rt, LbMetrics& metrics, std::string_view key,
                                   int64_t now_ns) {
  RateLimitOutcome out;
  if (rt.per_client) {
    ratelimit::GcraDecision d = rt.per_client->Take(key, now_ns);
    if (!d.allowed) {
      metrics.limited_client->Add();
      out.allowed = false;
      out.scope = "client";
      out.retry_after_s = d.retry_after_s;
      return out;
    }
    fmt::format_to(std::back_inserter(out.state), "\"client\";r={};t={}", d.remaining, d.reset_s);
  }
  if (rt.global) {
    ratelimit::GcraDecision d = rt.global->Take(now_ns);
    if (!d.allowed) {
      metrics.limited_global->Add();
      out.allowed = false;
      out.scope = "global";
      out.retry_after_s = d.retry_after_s;
      return out;
    }
    if (!out.state.empty()) out.state += ", ";
    fmt::format_to(std::back_inserter(out.state), "\"global\";r={};t={}", d.remaining, d.reset_s);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> RateLimitRejectHeaders(
    const LbRuntime& rt, const RateLimitOutcome& outcome) {
  std::string retry = std::to_string(outcome.retry_after_s);
  return {{"Retry-After", retry},
          {"RateLimit-Policy", rt.rate_limit_policy},
          {"RateLimit", fmt::format("\"{}\";r=0;t={}", outcome.scope, retry)}};
}

int AcquireServer(const ServerPool& pool, const PickRequest& pick, PickState* state) {
  // Another thread may take the last slot of the server picked: pick again.
  for (int race = 0; race < 4; ++race) {
    int id = PickServer(pool, pick, state);
    if (id < 0) return -1;
    NINES_CHECK(static_cast<size_t>(id) < pool.servers.size(), "the balancer picks a pool server");
    if (pool.servers[id]->TryAcquire()) return id;
  }
  return -1;
}

bool UntriedServerExists(const ServerPool& pool, const PickRequest& pick, const PickState& state) {
  PickState scratch = state;  // a look, not a pick: no state changes
  return PickServer(pool, pick, &scratch) >= 0 || AnyServerBusy(pool, pick);
}

bool RetryAllowed(const LbConfig& config, LbShared& shared, int64_t now_ms,
                  const RetryContext& request, AttemptFailure failure) {
  if (request.tried_count > config.retries) return false;
  if (request.stream_started) return false;
  // Retried: nothing reached a server (connect), the connection broke before
  // any response byte (send, reset), or the server said 502/503/504. A
  // timeout or a malformed response is not retried: the server may be slow
  // or broken for every request, and retrying would multiply the load.
  if (failure == AttemptFailure::kTimeout || failure == AttemptFailure::kBadResponse) return false;
  // A non-idempotent request may have been applied by the server that
  // received it: only a connect failure is safe, or, when the request
  // carries an idempotency key (the server answers a repeated key with the
  // first outcome), a connection that broke before any response byte. A
  // server's 502/503/504 is its answer, passed on.
  if (failure != AttemptFailure::kConnect && !request.idempotent &&
      !(request.idempotency_key &&
        (failure == AttemptFailure::kSend || failure == AttemptFailure::kReset))) {
    return false;
  }
  if (!shared.retry_budget.TryRetryAt(now_ms)) {
    shared.metrics.retry_budget_exhausted->Add();
    return false;
  }
  return true;
}

int FailureStatus(AttemptFailure failure) {
  return failure == AttemptFailure::kTimeout   ? 504
         : failure == AttemptFailure::kConnect ? 503
                                               : 502;
}

void AppendUpstreamHead(std::string& out, const http::RequestHead& request,
                        std::string_view client_ip, const Endpoint& default_host,
                        std::string_view proto) {
  Append(out, request.method);
  out += ' ';
  Append(out, request.target);
  out += " HTTP/1.1\r\n";
  std::string tokens;  // the hop-by-hop tokens of the Connection header(s)
  for (const http::Header& h : request.headers) {
    if (NameIs(h.name, "connection")) {
      if (!tokens.empty()) tokens += ',';
      Append(tokens, h.value);
    }
  }
  std::string forwarded_for;
  bool has_host = false;
  for (const http::Header& h : request.headers) {
    if (NameIs(h.name, "x-forwarded-for")) {
      if (!forwarded_for.empty()) forwarded_for += ", ";
      Append(forwarded_for, h.value);
      continue;
    }
    // Who the client is, we say: its own Forwarded and X-Real-IP are dropped
    // (X-Forwarded-For is kept and appended to, for chains of proxies).
    if (NameIs(h.name, "x-forwarded-proto") || NameIs(h.name, "forwarded") ||
        NameIs(h.name, "x-real-ip") || NameIs(h.name, "expect") ||
        http::IsHopByHop(h.name, tokens)) {
      continue;
    }
    if (NameIs(h.name, "host")) has_host = true;
    Append(out, h.name);
    out += ": ";
    Append(out, h.value);
    out += "\r\n";
  }
  if (!has_host) {
    out += "Host: ";
    out += default_host.ToString();
    out += "\r\n";
  }
  if (request.body == http::BodyKind::kChunked) out += "Transfer-Encoding: chunked\r\n";
  out += "X-Forwarded-For: ";
  if (!forwarded_for.empty()) {
    out += forwarded_for;
    out += ", ";
  }
  Append(out, client_ip);
  out += "\r\nX-Real-IP: ";
  Append(out, client_ip);
  out += "\r\nX-Forwarded-Proto: ";
  Append(out, proto);
  out += "\r\n\r\n";
}

void RecordFinished(LbShared& shared, ServerState& server, int status, int64_t start_ns,
                    int64_t end_ns) {
  double seconds = static_cast<double>(end_ns - start_ns) / 1e9;
  shared.metrics.latency->Observe(seconds);
  server.latency->Observe(seconds);
  server.responses_by_class[std::clamp(status / 100, 1, 5)]->Add();
}

}  // namespace nines::lb
