// The store's HTTP API and client acceptor: GET|PUT|DELETE /v1/kv/KEY (PUT and
// DELETE with If-Match: VERSION for compare-and-set), GET /status, GET
// /metrics, POST /v1/leader/transfer, GET /healthz. Followers redirect key
// requests to the leader's HTTP address (307) when it is configured, else
// answer 503. With requirepass every endpoint but /healthz needs
// `Authorization: Bearer PASSWORD` (/status and /metrics stay open with
// metrics_without_auth).
#include <nlohmann/json.hpp>

#include <cctype>
#include <string_view>

#include <fmt/format.h>

#include "base/log.h"
#include "base/secret.h"
#include "store/client_connection.h"
#include "store/outcome.h"
#include "store/store_server.h"

namespace nines::store {

namespace {

using http::JsonError;

// 503 with Retry-After: the request was certainly not applied; try again.
http::Response Unavailable(const std::string& message) {
  http::Response r = JsonError(503, message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// A write that failed: 504 (no Retry-After) when its outcome is unknown,
// 413 when it is too large to be logged, else 503.
http::Response WriteFailed(const std::string& error) {
  const int status = HttpStatusForError(error);
  if (status != 503) return JsonError(status, error);
  return Unavailable(error);
}

// 401 with the challenge RFC 6750 asks for; the body says what to send.
http::Response Unauthorized(bool token_given) {
  http::Response r = JsonError(401, token_given ? "wrong password"
                                                : "authentication required: send 'Authorization: "
                                                  "Bearer PASSWORD' (the store's requirepass)");
  r.headers.emplace_back("WWW-Authenticate",
                         token_given ? "Bearer realm=\"nines-store\", error=\"invalid_token\""
                                     : "Bearer realm=\"nines-store\"");
  return r;
}

// The token of an `Authorization: Bearer TOKEN` header ("" when there is none).
std::string BearerToken(const http::Request& request) {
  std::string value = request.Header("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) return "";
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return "";
  }
  size_t start = value.find_first_not_of(' ', kScheme.size());
  return start == std::string::npos ? "" : value.substr(start);
}

bool ParseVersion(const std::string& text, uint64_t* out) {
  std::string t = text;
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  if (t.empty() || t.size() > 20) return false;
  uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

void StoreServer::AcceptClients() {
  client_acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket s) {
    if (!client_acceptor_.is_open()) return;
    if (!ec) std::make_shared<ClientConnection>(this, std::move(s))->Start();
    AcceptClients();
  });
}

void StoreServer::HandleHttp(const http::Request& request, const http::Responder& respond) {
  if (request.path == "/healthz" && request.method == "GET") {
    respond(http::Response::Text(200, "ok\n"));
    return;
  }
  const std::string& password = config().requirepass;
  bool open_monitoring = config().metrics_without_auth && request.method == "GET" &&
                         (request.path == "/status" || request.path == "/metrics");
  if (!password.empty() && !open_monitoring) {
    std::string token = BearerToken(request);
    if (!SecretEquals(token, password)) {
      ++http_auth_failures_;
      respond(Unauthorized(!token.empty()));
      return;
    }
  }
  if (request.path.rfind("/v1/kv/", 0) == 0) {
    HandleKv(request, respond);
    return;
  }
  if (request.path == "/status" && request.method == "GET") {
    respond(http::Response::Json(200, StatusJson()));
    return;
  }
  if (request.path == "/metrics" && request.method == "GET") {
    http::Response r = http::Response::Text(200, MetricsText());
    r.content_type = "text/plain; version=0.0.4";
    respond(std::move(r));
    return;
  }
  if (request.path == "/v1/members" && request.method == "GET") {
    respond(http::Response::Json(200, "{\"members\":" + node_->MembersJson() + "}\n"));
    return;
  }
  if ((request.path == "/v1/members" && request.method == "POST") ||
      (request.path.rfind("/v1/members/", 0) == 0 && request.method == "DELETE")) {
    HandleMembers(request, respond);
    return;
  }
  if (request.path == "/v1/leader/transfer" && request.method == "POST") {
    if (!IsLeader()) {
      respond(JsonError(409, "not the leader"));
      return;
    }
    std::string target = node_->TransferLeadership(request.QueryParam("to"));
    if (target.empty()) {
      respond(JsonError(400, "no member to transfer leadership to"));
      return;
    }
    respond(http::Response::Json(202, nlohmann::json{{"transferring_to", target}}.dump() + "\n"));
    return;
  }
  respond(JsonError(404, "not found"));
}

void StoreServer::HandleKv(const http::Request& request, const http::Responder& respond) {
  std::string key = request.path.substr(7);
  if (key.empty()) {
    respond(JsonError(400, "empty key"));
    return;
  }
  const std::string& method = request.method;
  if (method != "GET" && method != "PUT" && method != "DELETE") {
    respond(JsonError(405, "use GET, PUT or DELETE"));
    return;
  }
  if (!IsLeader()) {
    const StoreMember* leader = LeaderMember();
    if (leader != nullptr) {
      if (leader->http) {
        http::Response r = JsonError(307, "not the leader");
        r.headers.emplace_back("Location", "http://" + leader->http->ToString() + request.target);
        respond(std::move(r));
      } else {
        respond(Unavailable("not the leader; leader is " + leader->id));
      }
      return;
    }
    auto req = std::make_shared<http::Request>(request);
    WhenLeaderKnown(RequestDeadline(), [this, req, respond](bool timed_out) {
      if (timed_out) {
        respond(Unavailable("no leader elected"));
      } else {
        HandleKv(*req, respond);
      }
    });
    return;
  }
  if (method == "GET") {
    bool started = StartRead(0, [this, key, respond](bool ok, const std::string& error) {
      if (!ok) {
        respond(Unavailable(error));
        return;
      }
      const KvEntry* e = state().Find(key, node_->ReadTimeMs());
      if (e == nullptr) {
        respond(JsonError(404, "no such key"));
        return;
      }
      if (e->type != ValueType::kString) {  // a hash, set, ...: only RESP reads it
        respond(JsonError(409, std::string(kErrWrongType)));
        return;
      }
      http::Response r;
      r.status = 200;
      r.content_type = "application/octet-stream";
      r.body = e->value;
      r.headers.emplace_back("ETag", "\"" + std::to_string(e->version) + "\"");
      r.headers.emplace_back("X-Version", std::to_string(e->version));
      respond(std::move(r));
    });
    if (!started) {
      auto req = std::make_shared<http::Request>(request);
      WhenLeaderKnown(RequestDeadline(), [this, req, respond](bool timed_out) {
        if (timed_out) {
          respond(Unavailable("no leader able to serve reads"));
        } else {
          HandleKv(*req, respond);
        }
      });
    }
    return;
  }
  KvCommand c;
  std::string if_match = request.Header("If-Match");
  bool cas = !if_match.empty();
  if (cas && !ParseVersion(if_match, &c.number)) {
    respond(JsonError(400, "If-Match must be a version number"));
    return;
  }
  if (method == "PUT") {
    c.op = cas ? KvOp::kCasSet : KvOp::kSet;
    c.args = {key, request.body};
  } else {
    c.op = cas ? KvOp::kCasDel : KvOp::kDel;
    c.args = {key};
  }
  std::string encoded;
  EncodeKvCommand(c, &encoded);
  bool is_put = method == "PUT";
  bool started = ProposeWrite(
      std::move(encoded), nullptr,
      [respond, cas, is_put](const KvResult* result, uint64_t index, const std::string& error) {
        if (result == nullptr) {
          respond(WriteFailed(error));
          return;
        }
        if (result->type == KvResult::Type::kError) {
          if (result->bulk.rfind("CONFLICT", 0) == 0) {
            http::Response r = JsonError(412, "version mismatch", {{"version", result->version}});
            r.headers.emplace_back("X-Version", std::to_string(result->version));
            respond(std::move(r));
          } else {
            respond(JsonError(400, result->bulk));
          }
          return;
        }
        uint64_t version = cas ? result->version : index;
        nlohmann::json body{{"index", index}};
        if (is_put) body["version"] = version;
        if (!is_put && !cas) body["deleted"] = result->integer;
        http::Response r = http::Response::Json(200, body.dump() + "\n");
        if (is_put) {
          r.headers.emplace_back("ETag", "\"" + std::to_string(version) + "\"");
          r.headers.emplace_back("X-Version", std::to_string(version));
        }
        respond(std::move(r));
      });
  if (!started) {
    auto req = std::make_shared<http::Request>(request);
    WhenLeaderKnown(RequestDeadline(), [this, req, respond](bool timed_out) {
      if (timed_out) {
        respond(Unavailable("no leader elected"));
      } else {
        HandleKv(*req, respond);
      }
    });
  }
}

std::string StoreServer::StatusJson() const {
  nlohmann::json j;
  j["id"] = config_.id;
  j["role"] = node_->role_name();
  j["term"] = node_->term();
  const StoreMember* leader = LeaderMember();
  j["leader"] = leader ? nlohmann::json(leader->id) : nlohmann::json(nullptr);
  j["commit"] = node_->commit_index();
  j["applied"] = node_->applied_index();
  j["last_index"] = node_->last_index();
  j["keys"] = state().stored_keys();
  j["no_space"] = node_->no_space();
  // The slow-disk guard (docs/store.md "When the disk is slow").
  const Histogram& fsyncs = node_->wal_fsync_seconds();
  j["slow_disk"] = {{"slow", node_->slow_disk()},
                    {"slow_fsync_ms", node_->config().slow_fsync_ms},
                    {"consecutive_slow_fsyncs", node_->slow_fsync().consecutive_slow()},
                    {"slow_fsyncs", node_->slow_fsync().slow_fsyncs()},
                    {"alarms", node_->slow_fsync().raised()},
                    {"transfers", node_->counters().slow_disk_transfers},
                    {"last_fsync_ms", node_->last_fsync_ms()},
                    {"fsync_p99_ms", fsyncs.Count() ? fsyncs.Quantile(0.99) * 1000 : 0.0},
                    {"fsyncs", fsyncs.Count()}};
  j["members"] = nlohmann::json::parse(node_->MembersJson());
  return j.dump() + "\n";
}

std::string StoreServer::MetricsText() const {
  const StoreCounters& counters_ = node_->counters();  // the node's, named as before the split
  std::string out;
  auto gauge = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, v);
  };
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  gauge("nines_store_is_leader", "1 if this member is the leader", IsLeader() ? 1 : 0);
  gauge("nines_store_term", "current Raft term", node_->term());
  gauge("nines_store_commit_index", "commit index", node_->commit_index());
  gauge("nines_store_applied_index", "applied index", node_->applied_index());
  gauge("nines_store_keys", "stored keys", state().stored_keys());
  gauge("nines_store_memory_bytes",
        "the store's accounting of its data: keys + values bytes (INFO used_memory)",
        state().memory_bytes());
  gauge("nines_store_maxmemory_bytes", "maxmemory (store.toml), 0 = no limit",
        node_->config().maxmemory);
  gauge("nines_store_blocked_clients", "clients blocked by BLPOP & co. on this member",
        node_->blocking().size());
  counter("nines_store_oom_refused_total",
          "writes refused with -OOM (over maxmemory, decided by the leader)",
          counters_.oom_refused);
  counter("nines_store_element_limit_refused_total",
          "writes refused at a collection's element bound (max_*_elements), counted by every "
          "member as it applies them",
          state().element_limit_refusals());
  gauge("nines_store_no_space", "1 while the NOSPACE alarm is raised (the disk is nearly full)",
        node_->no_space() ? 1 : 0);
  counter("nines_store_no_space_refusals_total", "writes refused with -NOSPACE",
          counters_.no_space_refusals);
  gauge("nines_store_client_connections", "open RESP connections", node_->open_connections());
  gauge("nines_store_pending_reads", "linearizable reads waiting for their read barrier",
        node_->pending_reads());
  gauge("nines_store_read_batches", "read barriers (ReadIndex requests) in flight",
        node_->read_batches());
  counter("nines_store_fsyncs_total", "WAL fsyncs (group commits)", counters_.fsyncs);
  {
    // etcd's wal_fsync_duration_seconds: the append path's WAL fsyncs.
    const Histogram& h = node_->wal_fsync_seconds();
    const char* name = "nines_store_wal_fsync_duration_seconds";
    out += fmt::format(
        "# HELP {0} time of one WAL fsync (group commit) of the append path\n"
        "# TYPE {0} histogram\n",
        name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds().size(); ++i) {
      cumulative += h.BucketCount(i);
      out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, h.bounds()[i], cumulative);
    }
    out += fmt::format("{0}_bucket{{le=\"+Inf\"}} {1}\n{0}_sum {2}\n{0}_count {1}\n", name,
                       h.Count(), h.Sum());
  }
  gauge("nines_store_slow_disk",
        "1 while this member's WAL fsyncs are persistently slow (slow_fsync_ms, slow_fsync_count)",
        node_->slow_disk() ? 1 : 0);
  counter("nines_store_slow_fsyncs_total", "WAL fsyncs that took slow_fsync_ms or more",
          node_->slow_fsync().slow_fsyncs());
  counter("nines_store_slow_disk_alarms_total",
          "times slow_fsync_count consecutive slow WAL fsyncs flagged the disk slow",
          node_->slow_fsync().raised());
  counter("nines_store_slow_disk_transfers_total",
          "leadership hand-offs started because this leader's disk was slow",
          counters_.slow_disk_transfers);
  counter("nines_store_slow_disk_refused_transfers_total",
          "leadership transfers (TimeoutNow) not taken because this member's disk was slow",
          counters_.slow_disk_refused_transfers);
  counter("nines_store_wal_batches_total", "WAL batch writes", counters_.wal_batches);
  counter("nines_store_proposals_total", "writes proposed by this member", counters_.proposals);
  counter("nines_store_writes_acked_total", "writes acknowledged", counters_.writes_acked);
  counter("nines_store_reads_total", "linearizable reads served", counters_.reads_served);
  counter("nines_store_read_rounds_total",
          "read barriers started (ReadIndex heartbeat rounds shared by the reads of a batch)",
          counters_.read_rounds);
  counter("nines_store_forwarded_total", "requests forwarded to the leader", counters_.forwarded);
  counter("nines_store_tryagain_total", "requests failed with TRYAGAIN/503", counters_.tryagain);
  counter("nines_store_unknown_outcome_total",
          "writes failed with -UNKNOWN/504 (proposed, not committed in time)",
          counters_.unknown_outcome);
  counter("nines_store_forward_failures_total",
          "forwarding connections dropped (lost, timed out, leader changed); requests resent",
          counters_.forward_failures);
  gauge("nines_store_dedup_entries", "request ids in the dedup table", state().dedup().size());
  gauge("nines_store_dedup_bytes", "bytes of the dedup table (bound 32 MiB)",
        state().dedup().bytes());
  counter("nines_store_dedup_evictions_total",
          "dedup entries evicted by the bound (100000 entries, 32 MiB)",
          state().dedup().evictions());
  counter("nines_store_snapshots_total", "snapshots written", counters_.snapshots);
  counter("nines_store_snapshots_installed_total", "snapshots installed from the leader",
          counters_.snapshots_installed);
  counter("nines_store_http_auth_failures_total",
          "HTTP requests refused with 401 (no or wrong Authorization: Bearer)",
          http_auth_failures_);
  const PeerStats& ps = transport_->stats();
  counter("nines_store_peer_sent_total", "Raft messages sent", ps.sent);
  counter("nines_store_peer_dropped_total", "Raft messages dropped (queue full)", ps.dropped);
  counter("nines_store_peer_received_total", "Raft messages received", ps.received);
  counter("nines_store_peer_decode_errors_total", "bad peer frames", ps.decode_errors);
  counter("nines_store_peer_auth_failures_total",
          "peer connections refused: no or wrong answer to the cluster-secret challenge",
          ps.auth_failures);
  counter("nines_store_peer_snapshots_sent_total", "snapshot streams sent", ps.snapshots_sent);
  counter("nines_store_peer_snapshots_received_total", "snapshot streams received and verified",
          ps.snapshots_received);
  counter("nines_store_peer_snapshot_errors_total", "snapshot streams refused", ps.snapshot_errors);
  gauge("nines_store_peer_max_buffer_bytes", "largest peer frame buffer so far",
        ps.max_buffer_bytes);
  gauge("nines_store_pubsub_channels", "channels with a subscriber on this member",
        pubsub_.NumChannels());
  gauge("nines_store_pubsub_patterns", "patterns with a subscriber on this member",
        pubsub_.NumPat());
  counter("nines_store_pubsub_published_total", "PUBLISH commands run on this member",
          pubsub_counters_.published);
  counter("nines_store_pubsub_delivered_total", "messages pushed to this member's subscribers",
          pubsub_counters_.delivered);
  counter("nines_store_pubsub_output_limit_closes_total",
          "subscribers closed for going over the pubsub output buffer limit",
          pubsub_counters_.output_limit_closes);
  counter("nines_store_pubsub_peer_sent_total", "Pub/Sub messages sent to other members",
          ps.publish_sent);
  counter("nines_store_pubsub_peer_dropped_total",
          "Pub/Sub messages not sent to a member (not connected, queue full, connection lost)",
          ps.publish_dropped);
  counter("nines_store_pubsub_peer_received_total", "Pub/Sub messages from other members",
          ps.publish_received);
  return out;
}

}  // namespace nines::store
