// The orders endpoints: POST /orders (idempotent by
// draft-ietf-httpapi-idempotency-key-header), GET /orders/ID and
// GET /orders?limit=N, each a short chain of store commands sharing one
// deadline (store_timeout_ms from the request's arrival).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "app/app_server.h"
#include "app/orders.h"
#include "base/log.h"

namespace nines::app {
namespace {

using Reply = std::function<void(http::Response)>;

using http::JsonError;

// The Idempotency-Key header: absent (false), or present with its value
// (which may be empty: that is a 400, not "no key").
bool FindHeader(const http::Request& request, std::string_view name, std::string* value) {
  for (const auto& [n, v] : request.headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      *value = v;
      return true;
    }
  }
  return false;
}

}  // namespace

// POST /orders. With a key K of client scope S (draft-ietf-httpapi-idempotency-key-header):
//   1. GET idem:S:K          "done ID FP": same body FP -> 200 with order ID, else 422;
//                            "pending ..": another request with K runs: 422 if its body
//                            differs, else 409
//   2. SET idem:S:K "pending ID FP" NX PX ttl   nil: someone took K first; GET it again:
//                            our own value (a retried SET that committed) -> go on, else step 1
//   3. INCR orders:seq       only the request holding K gets here: no number is burnt
//   4. SET order:ID REC NX   ID is new and random; nil only if our own retry committed
//   5. SET orders:by_seq:N ID
//   6. SET idem:S:K "done ID FP" (no TTL), then 201
// Without a key, steps 3 to 5.
// A failure once step 4 may have been applied is an unknown outcome: 504
// without Retry-After (see Failed).
class AppServer::PostOrder : public std::enable_shared_from_this<PostOrder> {
 public:
  PostOrder(AppServer* server, std::string idem_key, std::string id, std::string order_json,
            Reply reply)
      : server_(server),
        idem_key_(std::move(idem_key)),
        id_(std::move(id)),
        order_json_(std::move(order_json)),
        fingerprint_(BodyFingerprint(order_json_)),
        reply_(std::move(reply)),
        deadline_ms_(server->clock_.NowMillis() + server->config_.store_timeout_ms) {}

  void Start() {
    if (idem_key_.empty()) return Allocate();
    Lookup(true);
  }

 private:
  // Steps 1 and 2: what does the store know about this key?
  void Lookup(bool may_claim) {
    auto self = shared_from_this();
    Store({"GET", idem_key_}, [self, may_claim](const RespReply& r) {
      if (r.IsNil()) {
        if (may_claim) return self->Claim();
        return self->Finish(
            JsonError(409, "a request with this Idempotency-Key is in progress; retry later"));
      }
      IdemState state;
      if (r.type != RespReply::Type::kBulk || !DecodeIdemState(r.text, &state)) {
        return self->Finish(JsonError(500, "stored idempotency state is not valid"));
      }
      if (state.fingerprint != self->fingerprint_) {
        return self->Finish(
            JsonError(422, "this Idempotency-Key was used with a different request body"));
      }
      if (!state.done) {
        if (state.id == self->id_) return self->Allocate();  // our own claim
        return self->Finish(
            JsonError(409, "a request with this Idempotency-Key is in progress; retry later"));
      }
      self->Replay(state.id);
    });
  }

  void Claim() {
    IdemState pending{false, id_, fingerprint_};
    // The claim outlives this request's deadline, so a crashed request frees
    // the key after a while instead of forever.
    int64_t ttl = 2LL * server_->config_.store_timeout_ms;
    auto self = shared_from_this();
    Store({"SET", idem_key_, EncodeIdemState(pending), "NX", "PX", std::to_string(ttl)},
          [self](const RespReply& r) {
            if (r.type == RespReply::Type::kSimple) return self->Allocate();
            if (!r.IsNil()) return self->Unexpected("SET idem NX", r);
            self->Lookup(false);
          });
  }

  void Replay(const std::string& id) {
    auto self = shared_from_this();
    Store({"GET", OrderKey(id)}, [self, id](RespReply r) {
      std::string stored_id;
      int64_t seq = 0;
      std::string order;
      if (r.type != RespReply::Type::kBulk ||
          !DecodeOrderRecord(r.text, &stored_id, &seq, &order)) {
        return self->Finish(JsonError(500, "the order of this Idempotency-Key is missing"));
      }
      if (order != self->order_json_) {
        return self->Finish(
            JsonError(422, "this Idempotency-Key was used with a different request body"));
      }
      self->server_->counters_.replayed->Add();
      http::Response response = http::Response::Json(200, std::move(r.text));
      response.headers.emplace_back("Location", "/orders/" + id);
      self->Finish(std::move(response));
    });
  }

  void Allocate() {
    auto self = shared_from_this();
    Store({"INCR", SequenceKey()}, [self](const RespReply& r) {
      if (r.type != RespReply::Type::kInteger) return self->Unexpected("INCR", r);
      OrderRecord record;
      record.id = self->id_;
      record.created_ms = self->server_->wall_.NowMillis();
      record.app = self->server_->config_.name;
      record.region = self->server_->config_.region;
      record.seq = r.integer;
      record.order_json = self->order_json_;
      self->seq_ = r.integer;
      self->record_ = EncodeOrderRecord(record);
      self->Insert();
    });
  }

  void Insert() {
    auto self = shared_from_this();
    writing_order_ = true;
    Store({"SET", OrderKey(id_), record_, "NX"}, [self](const RespReply& r) {
      if (r.type == RespReply::Type::kSimple) return self->Index();
      if (!r.IsNil()) return self->Unexpected("SET", r);
      // Refused: the id is new and random, so only an earlier attempt of
      // this request (the store client retried) can have written it.
      self->Store({"GET", OrderKey(self->id_)}, [self](const RespReply& g) {
        if (g.type != RespReply::Type::kBulk || g.text != self->record_) {
          return self->Unexpected("GET after SET NX", g);
        }
        self->server_->counters_.recovered->Add();
        self->Index();
      });
    });
  }

  void Index() {
    order_written_ = true;
    auto self = shared_from_this();
    Store({"SET", IndexKey(seq_), id_}, [self](const RespReply& r) {
      if (r.type != RespReply::Type::kSimple) return self->Unexpected("SET index", r);
      if (self->idem_key_.empty()) return self->Created();
      IdemState done{true, self->id_, self->fingerprint_};
      self->Store({"SET", self->idem_key_, EncodeIdemState(done)}, [self](const RespReply& d) {
        if (d.type != RespReply::Type::kSimple) return self->Unexpected("SET idem done", d);
        self->Created();
      });
    });
  }

  void Created() {
    server_->counters_.created->Add();
    http::Response response = http::Response::Json(201, record_);
    response.headers.emplace_back("Location", "/orders/" + id_);
    Finish(std::move(response));
  }

  // Runs one store command; on failure answers and stops the chain.
  void Store(const std::vector<std::string>& args, std::function<void(RespReply)> next) {
    auto self = shared_from_this();
    server_->store_.Call(args, deadline_ms_, [self, next = std::move(next)](StoreResult result) {
      if (!result.ok()) return self->Failed(result);
      next(std::move(result.reply));
    });
  }

  void Unexpected(const char* step, const RespReply& r) {
    if (r.IsError()) {
      StoreResult result;
      result.outcome = StoreResult::Outcome::kOk;
      result.reply = r;
      return Failed(result);
    }
    LogWarn("app", "POST /orders {}: unexpected store reply {}", step, r.Describe());
    Finish(JsonError(500, fmt::format("unexpected store reply to {}", step)));
  }

  // Until the order's SET may have been applied nothing of it exists: the
  // usual 503 (or 500 for a store error). After, the order may exist, and a
  // retry without a key could create a second one: 504, no Retry-After. An
  // error reply to that SET other than -TRYAGAIN (which the client retries:
  // it means "not applied") counts as "may have been applied".
  void Failed(const StoreResult& result) {
    bool order_may_exist =
        order_written_ || (writing_order_ && (result.ok() || result.maybe_applied));
    if (!order_may_exist) return Finish(server_->StoreFailure(result));
    server_->counters_.unknown_outcome->Add();
    LogWarn("app", "POST /orders {}: outcome unknown: {}", id_,
            result.ok() ? result.reply.Describe() : result.error);
    Finish(http::JsonError(504, "outcome unknown: the order may or may not have been created",
                           {{"id", id_}}));
  }

  void Finish(http::Response response) { reply_(std::move(response)); }

  AppServer* server_;
  std::string idem_key_;  // "" without a key
  std::string id_;
  std::string order_json_;
  std::string fingerprint_;
  Reply reply_;
  int64_t deadline_ms_;
  int64_t seq_ = 0;
  bool writing_order_ = false;  // the order's SET was sent
  bool order_written_ = false;  // ... and it is known to be applied
  std::string record_;
};

void AppServer::PostOrders(const http::Request& request, Reply reply) {
  // Served while draining too: a request that reached us before the balancer
  // saw /healthz turn 503 deserves an answer.
  std::string canonical;
  if (Status s = ValidateOrderBody(request.body, &canonical); !s.ok()) {
    return reply(JsonError(400, s.message()));
  }
  std::string key;
  std::string idem_key;
  if (FindHeader(request, "Idempotency-Key", &key)) {
    if (!ValidIdempotencyKey(key)) {
      return reply(JsonError(
          400, fmt::format("Idempotency-Key must be 1 to {} characters of A-Z a-z 0-9 . _ : -",
                           kMaxIdempotencyKeyBytes)));
    }
    idem_key = IdemKey(IdempotencyScope(request.Header("Authorization")), key);
  }
  std::string id = NewOrderId(rng_(), rng_());
  std::make_shared<PostOrder>(this, std::move(idem_key), std::move(id), std::move(canonical),
                              std::move(reply))
      ->Start();
}

void AppServer::GetOrder(const std::string& id, const Reply& reply) {
  if (!ValidOrderId(id)) return reply(JsonError(404, "not found"));
  store_.Call({"GET", OrderKey(id)}, clock_.NowMillis() + config_.store_timeout_ms,
              [this, reply](const StoreResult& result) {
                if (!result.ok() || result.reply.IsError()) return reply(StoreFailure(result));
                if (result.reply.IsNil()) return reply(JsonError(404, "not found"));
                reply(http::Response::Json(200, result.reply.text));
              });
}

// GET /orders?limit=N, newest first. Fast path: read orders:seq and walk the
// index downwards in windows (MGET of index keys, then MGET of the orders).
// The sequence may have gaps of any size (a retried INCR, a crashed request,
// a counter set by hand): when kFastRounds windows did not fill the page, the
// index keys are SCANned instead, keeping the N highest, so the answer never
// depends on the sequence being dense.
class AppServer::ListOrders : public std::enable_shared_from_this<ListOrders> {
 public:
  static constexpr int kFastRounds = 2;
  static constexpr int kScanCount = 1000;

  ListOrders(AppServer* server, int limit, Reply reply)
      : server_(server),
        limit_(limit),
        reply_(std::move(reply)),
        deadline_ms_(server->clock_.NowMillis() + server->config_.store_timeout_ms) {}

  void Start() {
    auto self = shared_from_this();
    Store({"GET", SequenceKey()}, [self](const RespReply& r) {
      if (r.IsNil()) return self->Respond();
      int64_t top = 0;
      if (r.type != RespReply::Type::kBulk || !ParseSeq(r.text, &top)) {
        return self->Finish(JsonError(500, "orders:seq is not an integer"));
      }
      self->next_ = top;
      self->Round();
    });
  }

 private:
  static bool ParseSeq(const std::string& text, int64_t* out) {
    try {
      size_t used = 0;
      *out = std::stoll(text, &used);
      return used == text.size();
    } catch (const std::exception&) {
      return false;
    }
  }

  int Missing() const { return limit_ - static_cast<int>(records_.size()); }

  void Round() {
    if (next_ < 1 || Missing() <= 0) return Respond();
    if (rounds_ >= kFastRounds) return Scan("0");
    ++rounds_;
    int64_t window = std::min<int64_t>(std::max(2 * Missing(), 8), 200);
    std::vector<int64_t> seqs;
    for (int64_t s = next_; s > 0 && s > next_ - window; --s) seqs.push_back(s);
    next_ -= window;
    Fetch(seqs, [self = shared_from_this()] { self->Round(); });
  }

  // MGETs the index entries `seqs` (highest first), then their orders, and
  // appends the orders found (skipping gaps and ids already listed).
  void Fetch(const std::vector<int64_t>& seqs, std::function<void()> then) {
    std::vector<std::string> args = {"MGET"};
    for (int64_t s : seqs) args.push_back(IndexKey(s));
    auto self = shared_from_this();
    Store(args, [self, then = std::move(then)](const RespReply& r) {
      if (r.type != RespReply::Type::kArray) return self->Finish(JsonError(500, "bad MGET reply"));
      std::vector<std::string> ids = {"MGET"};
      for (const RespReply& e : r.elements) {
        if (e.type != RespReply::Type::kBulk || !self->seen_.insert(e.text).second) continue;
        ids.push_back(OrderKey(e.text));
      }
      if (ids.size() == 1) return then();
      self->Store(ids, [self, then](const RespReply& o) {
        if (o.type != RespReply::Type::kArray) {
          return self->Finish(JsonError(500, "bad MGET reply"));
        }
        for (const RespReply& e : o.elements) {
          if (self->Missing() <= 0) break;
          if (e.type == RespReply::Type::kBulk && nlohmann::json::accept(e.text)) {
            self->records_.push_back(e.text);
          }
        }
        then();
      });
    });
  }

  // The slow path: every index key, keeping the `limit` highest sequence
  // numbers not listed yet (below next_); memory stays O(limit).
  void Scan(const std::string& cursor) {
    auto self = shared_from_this();
    Store({"SCAN", cursor, "MATCH", IndexPattern(), "COUNT", std::to_string(kScanCount)},
          [self](const RespReply& r) {
            if (r.type != RespReply::Type::kArray || r.elements.size() != 2 ||
                r.elements[1].type != RespReply::Type::kArray) {
              return self->Finish(JsonError(500, "bad SCAN reply"));
            }
            for (const RespReply& k : r.elements[1].elements) {
              int64_t seq = 0;
              if (!ParseIndexKey(k.text, &seq) || seq > self->next_) continue;
              self->best_.insert(seq);
              if (static_cast<int>(self->best_.size()) > self->Missing()) {
                self->best_.erase(self->best_.begin());
              }
            }
            const std::string& next = r.elements[0].text;
            if (next != "0") return self->Scan(next);
            std::vector<int64_t> seqs(self->best_.rbegin(), self->best_.rend());
            self->next_ = 0;
            if (seqs.empty()) return self->Respond();
            self->Fetch(seqs, [self] { self->Respond(); });
          });
  }

  void Respond() {
    std::string body = "{\"orders\":[";
    for (size_t i = 0; i < records_.size(); ++i) {
      if (i > 0) body += ",";
      body += records_[i];
    }
    body += "]}";
    Finish(http::Response::Json(200, std::move(body)));
  }

  void Store(const std::vector<std::string>& args, std::function<void(RespReply)> next) {
    auto self = shared_from_this();
    server_->store_.Call(args, deadline_ms_, [self, next = std::move(next)](StoreResult result) {
      if (!result.ok() || result.reply.IsError()) {
        return self->Finish(self->server_->StoreFailure(result));
      }
      next(std::move(result.reply));
    });
  }

  void Finish(http::Response response) { reply_(std::move(response)); }

  AppServer* server_;
  int limit_;
  Reply reply_;
  int64_t deadline_ms_;
  int64_t next_ = 0;  // highest sequence number not looked at yet
  int rounds_ = 0;
  std::set<std::string> seen_;
  std::set<int64_t> best_;  // SCAN: the highest sequence numbers found
  std::vector<std::string> records_;
};

void AppServer::GetOrders(const http::Request& request, Reply reply) {
  int limit = 0;
  if (Status s = ParseListLimit(request.QueryParam("limit"), &limit); !s.ok()) {
    return reply(JsonError(400, s.message()));
  }
  std::make_shared<ListOrders>(this, limit, std::move(reply))->Start();
}

}  // namespace nines::app
