// The chaos clients. RESP replies and HTTP statuses map to outcomes as
// docs/store.md promises: -TRYAGAIN, -NOSPACE, 503 and 507 (and a refused
// connection) mean certainly not applied; -UNKNOWN, 504, a timeout or a lost connection mean
// the outcome is unknown.
#include "workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "http/client.h"
#include "seed.h"
#include "store/store_cluster.h"
#include "typed_group.h"

namespace nines::chaos {
namespace {

using test::RespClient;

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Reply {
  Outcome outcome = Outcome::kUnknown;
  std::string value;  // bulk ("" for nil), integer, or simple string
  bool nil = false;
  bool unexpected = false;
  std::string raw;
};

// Maps a raw RESP reply ("" = no reply: timeout or lost connection).
Reply ParseResp(const std::string& raw) {
  Reply r;
  r.raw = raw;
  if (raw.empty()) return r;
  size_t eol = raw.find("\r\n");
  std::string head = raw.substr(0, eol);
  switch (raw[0]) {
    case '+':
    case ':':
      r.outcome = Outcome::kOk;
      r.value = head.substr(1);
      return r;
    case '$':
      r.outcome = Outcome::kOk;
      if (head == "$-1") {
        r.nil = true;
      } else {
        r.value = raw.substr(eol + 2, std::strtoul(head.c_str() + 1, nullptr, 10));
      }
      return r;
    case '-':
      if (head.rfind("-TRYAGAIN", 0) == 0 || head.rfind("-NOSPACE", 0) == 0) {
        r.outcome = Outcome::kFail;
      } else {
        r.unexpected = head.rfind("-UNKNOWN", 0) != 0;
      }
      return r;
    default:
      r.unexpected = true;
      return r;
  }
}

struct HttpReply {
  Outcome outcome = Outcome::kUnknown;
  int status = 0;
  std::string body;
  std::string version;
  bool unexpected = false;
};

// One key request, following 307 redirects to the leader (a redirect means
// the member did nothing with it), within timeout_ms overall.
HttpReply HttpKv(const MemberInfo& first, const std::string& method, const std::string& key,
                 const std::string& body, const std::string& if_match, int timeout_ms) {
  HttpReply out;
  std::string host = first.host;
  int port = first.http;
  int64_t deadline = test::SteadyMs() + timeout_ms;
  for (int hop = 0; hop < 4; ++hop) {
    int left = static_cast<int>(deadline - test::SteadyMs());
    if (left <= 0) return out;
    http::ClientConnection c;
    if (!c.Connect(host, port, std::min(left, 1000))) {
      out.outcome = Outcome::kFail;
      return out;
    }
    std::string req = fmt::format("{} /v1/kv/{} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n",
                                  method, key, host, port);
    if (!if_match.empty()) req += "If-Match: " + if_match + "\r\n";
    if (method != "GET") req += fmt::format("Content-Length: {}\r\n", body.size());
    req += "\r\n" + body;
    if (!c.Send(req)) return out;  // perhaps partly sent: unknown
    http::ClientResponse r =
        c.Read(method, std::max(1, static_cast<int>(deadline - test::SteadyMs())));
    if (!r.ok) return out;
    out.status = r.status;
    if (r.status == 307) {
      std::string location = r.Header("Location");  // http://H:P/v1/kv/KEY
      size_t start = location.find("://");
      size_t colon = location.find(':', start + 3);
      size_t slash = location.find('/', start + 3);
      if (start == std::string::npos || colon == std::string::npos || slash < colon) {
        out.unexpected = true;
        out.outcome = Outcome::kFail;
        return out;
      }
      host = location.substr(start + 3, colon - start - 3);
      port = std::atoi(location.substr(colon + 1, slash - colon - 1).c_str());
      continue;
    }
    if (r.status == 200 || r.status == 404 || r.status == 412) {
      out.outcome = Outcome::kOk;
      out.body = r.body;
      out.version = r.Header("X-Version");
    } else if (r.status == 503 || r.status == 507) {
      out.outcome = Outcome::kFail;
    } else {
      out.unexpected = r.status != 504;
    }
    return out;
  }
  out.outcome = Outcome::kFail;  // redirected in circles: nothing was applied
  return out;
}

}  // namespace

Workload::Workload(const Cluster& cluster, WorkloadOptions options)
    : cluster_(cluster), options_(options), epoch_us_(SteadyUs()) {}

Workload::~Workload() {
  Stop();
}

int64_t Workload::NowUs() const {
  return SteadyUs() - epoch_us_;
}

void Workload::Start() {
  for (int i = 0; i < options_.register_clients; ++i) {
    threads_.emplace_back([this, i] { RegisterClient(i); });
  }
  for (int i = 0; i < options_.counter_clients; ++i) {
    threads_.emplace_back([this, i] { CounterClient(options_.register_clients + i); });
  }
  for (int i = 0; i < options_.typed_clients; ++i) {
    threads_.emplace_back(
        [this, i] { TypedClient(options_.register_clients + options_.counter_clients + i); });
  }
}

void Workload::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

// Counts a reply the client did not expect; prints the first 20.
void Workload::NoteUnexpected(const std::string& what) {
  std::lock_guard lock(mu_);
  if (++counts_.unexpected <= 20)
    std::fprintf(stderr, "chaos: unexpected reply: %s\n", what.c_str());
}

void Workload::Record(Op op) {
  std::lock_guard lock(mu_);
  switch (op.outcome) {
    case Outcome::kOk:
      ++counts_.ok;
      break;
    case Outcome::kFail:
      ++counts_.failed;
      break;
    case Outcome::kUnknown:
      ++counts_.unknown;
      break;
  }
  history_.push_back(std::move(op));
}

std::vector<Op> Workload::History() const {
  std::lock_guard lock(mu_);
  return history_;
}

WorkloadCounts Workload::Counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void Workload::RegisterClient(int id) {
  sim::Prng prng = SeededPrng(options_.seed, 1 + static_cast<uint64_t>(id));
  const bool http = id % 2 == 1;
  RespClient resp;
  size_t member = prng.Below(cluster_.size());
  std::map<std::string, std::pair<std::string, std::string>> known;  // key -> value, version
  uint64_t seq = 0;
  while (!stop_) {
    // Three keys at a time, ~50 operations each (the checker's bound is 64).
    uint64_t n = register_ops_++;
    Op op;
    op.client = static_cast<uint64_t>(id);
    // Every third group of keys is written with a TTL far longer than the run
    // ('e' keys): a clock jump must never expire them early.
    uint64_t group = n / 150;
    op.key = fmt::format("{}{}", group % 3 == 2 ? 'e' : 'r', group * 3 + n % 3);
    const bool ttl = op.key[0] == 'e';
    // HTTP picks a member per request, RESP moves now and then: requests
    // keep arriving at every member, a paused or cut-off one included.
    if (http || prng.Chance(0.05)) {
      member = prng.Below(cluster_.size());
      resp.Close();
    }
    uint64_t dice = prng.Below(100);
    op.type = dice < 40 ? OpType::kRead : dice < 75 ? OpType::kWrite : OpType::kCas;
    if (op.type != OpType::kRead) op.value = fmt::format("{}-{}", id, ++seq);
    const MemberInfo& m = cluster_.member(member);
    op.via = fmt::format("{} {}", http ? "http" : "resp", m.id);
    op.call_us = NowUs();
    if (http) {
      std::string if_match;
      if (op.type == OpType::kCas) {
        auto it = known.find(op.key);
        if (it != known.end()) {
          op.expected = it->second.first;
          if_match = it->second.second;
        } else {
          if_match = "0";  // must not exist: the same as expecting ""
        }
      }
      HttpReply r = HttpKv(m, op.type == OpType::kRead ? "GET" : "PUT", op.key, op.value, if_match,
                           options_.timeout_ms);
      op.ret_us = NowUs();
      op.outcome = r.outcome;
      if (r.unexpected) NoteUnexpected(fmt::format("{} HTTP {}", Describe(op), r.status));
      if (r.outcome == Outcome::kOk) {
        if (op.type == OpType::kRead) {
          op.output = r.status == 200 ? r.body : "";
          known[op.key] = {op.output, r.status == 200 ? r.version : "0"};
        } else if (op.type == OpType::kCas) {
          op.output = r.status == 200 ? "1" : "0";
        }
        if (op.type != OpType::kRead && r.status == 200) known[op.key] = {op.value, r.version};
      }
      if (r.outcome != Outcome::kOk) member = prng.Below(cluster_.size());
    } else {
      Reply r;
      if (!resp.connected() && !resp.Connect(m.host, m.client, 1000)) {
        r.outcome = Outcome::kFail;
      } else {
        std::vector<std::string> cmd;
        if (op.type == OpType::kRead) cmd = {"GET", op.key};
        if (op.type == OpType::kWrite) cmd = {"SET", op.key, op.value};
        if (op.type == OpType::kCas) cmd = {"SET", op.key, op.value, "NX"};  // CAS from absent
        if (ttl && op.type != OpType::kRead) {
          cmd.push_back("PX");
          cmd.push_back(std::to_string(options_.ttl_ms));
        }
        r = ParseResp(resp.Call(cmd, options_.timeout_ms));
      }
      op.ret_us = NowUs();
      op.outcome = r.outcome;
      if (r.unexpected) NoteUnexpected(fmt::format("{}: {}", Describe(op), r.raw.substr(0, 120)));
      if (r.outcome == Outcome::kOk) {
        if (op.type == OpType::kRead) op.output = r.nil ? "" : r.value;
        if (op.type == OpType::kCas) op.output = r.nil ? "0" : "1";
      } else {
        resp.Close();
        member = prng.Below(cluster_.size());
      }
    }
    Record(std::move(op));
  }
}

void Workload::CounterClient(int id) {
  sim::Prng prng = SeededPrng(options_.seed, 1 + static_cast<uint64_t>(id));
  RespClient resp;
  size_t member = prng.Below(cluster_.size());
  while (!stop_) {
    uint64_t n = counter_ops_++;
    Op op;
    op.client = static_cast<uint64_t>(id);
    op.key = fmt::format("c{}", n / 200);
    op.type = prng.Below(100) < 80 ? OpType::kIncr : OpType::kRead;
    if (prng.Chance(0.05)) {
      member = prng.Below(cluster_.size());
      resp.Close();
    }
    const MemberInfo& m = cluster_.member(member);
    op.via = "resp " + m.id;
    op.call_us = NowUs();
    Reply r;
    if (!resp.connected() && !resp.Connect(m.host, m.client, 1000)) {
      r.outcome = Outcome::kFail;
    } else {
      r = ParseResp(
          resp.Call({op.type == OpType::kIncr ? "INCR" : "GET", op.key}, options_.timeout_ms));
    }
    op.ret_us = NowUs();
    op.outcome = r.outcome;
    if (r.outcome == Outcome::kOk) {
      op.output = r.nil ? "" : r.value;
    } else {
      resp.Close();
      member = prng.Below(cluster_.size());
    }
    if (r.unexpected) NoteUnexpected(fmt::format("{}: {}", Describe(op), r.raw.substr(0, 120)));
    Record(std::move(op));
  }
}

// MULTI, the four queued writes, EXEC. A connection lost before EXEC was
// sent discards the transaction (certainly not applied); after it, the
// outcome is unknown. EXEC's -TRYAGAIN/-NOSPACE mean not applied.
void Workload::TypedClient(int id) {
  sim::Prng prng = SeededPrng(options_.seed, 1 + static_cast<uint64_t>(id));
  RespClient resp;
  size_t member = prng.Below(cluster_.size());
  uint64_t seq = 0;
  while (!stop_) {
    uint64_t n = typed_ops_++;
    Op op;
    op.client = static_cast<uint64_t>(id);
    op.type = OpType::kTxn;
    op.key = fmt::format("t{}", n / 100);
    op.value = fmt::format("{}-{}", id, ++seq);
    if (prng.Chance(0.05)) {
      member = prng.Below(cluster_.size());
      resp.Close();
    }
    const MemberInfo& m = cluster_.member(member);
    op.via = "resp " + m.id;
    op.call_us = NowUs();
    Reply r;
    r.outcome = Outcome::kFail;
    bool queued = (resp.connected() || resp.Connect(m.host, m.client, 1000)) &&
                  resp.Call({"MULTI"}, options_.timeout_ms) == "+OK\r\n";
    for (const auto& cmd : TypedTransaction(op.key, op.value, n)) {
      if (!queued) break;
      std::string raw = resp.Call(cmd, options_.timeout_ms);
      queued = raw == "+QUEUED\r\n";
      if (!queued && !raw.empty()) {  // an error queuing: the transaction is dropped below
        r.unexpected = true;
        r.raw = raw;
      }
    }
    if (queued) {
      std::string raw = resp.Call({"EXEC"}, options_.timeout_ms);
      std::vector<std::string> replies;
      if (ParseFlatArray(raw, &replies) && replies.size() == 4) {
        r.outcome = Outcome::kOk;
        r.raw = raw;
        op.output = replies[0] + " " + replies[1] + " " + replies[2] + " " + replies[3];
      } else {
        r = ParseResp(raw);  // an error: TRYAGAIN/NOSPACE, UNKNOWN; or nothing: unknown
        if (r.outcome == Outcome::kOk) {  // a reply EXEC does not give
          r.outcome = Outcome::kUnknown;
          r.unexpected = true;
        }
      }
    }
    op.ret_us = NowUs();
    op.outcome = r.outcome;
    if (r.outcome != Outcome::kOk) {
      resp.Close();
      member = prng.Below(cluster_.size());
    }
    if (r.unexpected) NoteUnexpected(fmt::format("{}: {}", Describe(op), r.raw.substr(0, 120)));
    Record(std::move(op));
  }
}

std::vector<Op> Workload::FinalReads(int timeout_ms, std::vector<std::string>* unread) const {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mu_);
    std::map<std::string, bool> seen;
    for (const Op& op : history_) {
      if (!seen[op.key]) keys.push_back(op.key);
      seen[op.key] = true;
    }
  }
  std::vector<Op> reads;
  int64_t deadline = test::SteadyMs() + timeout_ms;
  RespClient resp;
  size_t member = 0;
  for (const std::string& key : keys) {
    bool done = false;
    while (!done && test::SteadyMs() < deadline) {
      const MemberInfo& m = cluster_.member(member);
      Op op;
      op.key = key;
      op.client = 999;
      op.via = "resp " + m.id + " (final)";
      op.call_us = NowUs();
      if (!resp.connected() && !resp.Connect(m.host, m.client, 1000)) {
        member = (member + 1) % cluster_.size();
        continue;
      }
      Reply r;
      if (IsTypedKey(key)) {
        std::vector<std::string> replies;
        for (const auto& cmd : TypedGroupReads(key)) replies.push_back(resp.Call(cmd, 3000));
        r.outcome = TypedGroupLine(replies, &r.value) ? Outcome::kOk : Outcome::kUnknown;
      } else {
        r = ParseResp(resp.Call({"GET", key}, 3000));
      }
      op.ret_us = NowUs();
      if (r.outcome != Outcome::kOk) {
        resp.Close();
        member = (member + 1) % cluster_.size();
        continue;
      }
      op.output = r.nil ? "" : r.value;
      reads.push_back(std::move(op));
      done = true;
    }
    if (!done) unread->push_back(key);
  }
  return reads;
}

}  // namespace nines::chaos
