// The orders endpoints: POST /orders (idempotent by
// draft-ietf-httpapi-idempotency-key-header), GET /orders/ID and
// GET /orders?limit=N, each a short chain of store commands sharing one
// deadline (store_timeout_ms from the request's arrival).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>

#include "app/app_server.h"
#include "app/orders.h"
#include "base/log.h"

namespace nines::app {
namespace {

using Reply = std::function<void(http::Response)>;

using http::JsonError;

// The store's -UNKNOWN: a write whose outcome it could not learn in time
// (docs/store.md); it may or may not be applied.
bool IsUnknownOutcome(const RespReply& r) {
  return r.IsError() && r.text.rfind("UNKNOWN", 0) == 0;
}

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

// POST /orders. With a key K of client scope S (draft-ietf-httpapi-idempotency-key-header);
// docs/app.md "Claims" has the protocol and its crash-point argument:
//   1. MGET idem:S:K claim:S:K
//        idem "done ID FP": same body FP -> 200 with order ID, else 422
//        claim "claim ID FP OWNER" of another request: 422 if FP differs, else wait
//        (poll step 1 until the claim's lease runs out or it turns done; 409 when
//        this request's waiting budget is spent); our own claim -> step 3
//   2. SET claim:S:K "claim ID FP OWNER" NX PX lease   nil: someone claimed first: step 1
//   3. INCR orders:seq       (the claim's lease is renewed every lease/3 from here on)
//   4. MSETNX order:ID REC orders:by_seq:N ID idem:S:K "done ID FP"   all or nothing:
//        1 -> 201. 0 -> GET idem:S:K: our ID (a retried MSETNX had committed) -> 201;
//        another ID (a request that took the key over, or the owner we took it
//        from, won) -> replay it (200, or 422 if its body differs); none: the
//        index key was taken (orders:seq set back by hand): step 3 again
// Without a key: steps 3 and 4 without the idem pair.
// Safety does not rest on the claim: the order and its done record exist
// together or not at all, and MSETNX lets one done record per key exist, so a
// key never makes two orders, whatever leases, clocks and crashes do. The
// claim only keeps a second app from doing the work while the first is alive.
// A failure once step 4 may have been applied is an unknown outcome: 504
// without Retry-After (see Failed).
class AppServer::PostOrder : public std::enable_shared_from_this<PostOrder> {
 public:
  PostOrder(AppServer* server, std::string idem_key, std::string claim_key, std::string id,
            std::string order_json, Reply reply)
      : server_(server),
        idem_key_(std::move(idem_key)),
        claim_key_(std::move(claim_key)),
        id_(std::move(id)),
        order_json_(std::move(order_json)),
        fingerprint_(BodyFingerprint(order_json_)),
        reply_(std::move(reply)),
        deadline_ms_(server->clock_.NowMillis() + server->config_.store_timeout_ms),
        // Waiting on another request stops early enough to leave a quarter
        // of the budget for claiming, INCR and MSETNX after a takeover.
        wait_until_ms_(server->clock_.NowMillis() + ClaimWaitMs(server->config_.store_timeout_ms)),
        wait_timer_(server->io_),
        renew_timer_(server->io_) {}

  void Start() {
    if (idem_key_.empty()) return Allocate();
    Lookup();
  }

 private:
  int lease_ms() const { return server_->config_.idempotency_lease_ms; }

  // Step 1: what does the store know about this key?
  void Lookup() {
    auto self = shared_from_this();
    Store({"MGET", idem_key_, claim_key_}, [self](const RespReply& r) {
      if (r.type != RespReply::Type::kArray || r.elements.size() != 2) {
        return self->Unexpected("MGET idem claim", r);
      }
      const RespReply& idem = r.elements[0];
      const RespReply& claim = r.elements[1];
      if (idem.type == RespReply::Type::kBulk) {
        IdemState state;
        if (!DecodeIdemState(idem.text, &state)) {
          return self->Finish(JsonError(500, "stored idempotency state is not valid"));
        }
        if (state.fingerprint != self->fingerprint_) return self->DifferentBody();
        if (state.done) return self->Replay(state.id);
        return self->Wait();  // "pending": an older version's claim, ended by its TTL
      }
      if (claim.type == RespReply::Type::kBulk) {
        IdemClaim c;
        if (!DecodeIdemClaim(claim.text, &c)) {
          return self->Finish(JsonError(500, "stored idempotency claim is not valid"));
        }
        if (c.fingerprint != self->fingerprint_) return self->DifferentBody();
        if (c.id == self->id_) return self->Claimed();  // our SET, retried after it committed
        return self->Wait();
      }
      self->Claim();
    });
  }

  // Another request holds the key: look again after a while, until our
  // waiting budget is spent.
  void Wait() {
    if (!waited_) {
      waited_ = true;
      server_->counters_.claim_waits->Add();
    }
    int poll_ms = ClaimPollMs(lease_ms());
    if (server_->clock_.NowMillis() + poll_ms > wait_until_ms_) {
      return Finish(
          JsonError(409, "a request with this Idempotency-Key is in progress; retry later"));
    }
    wait_timer_.expires_after(std::chrono::milliseconds(poll_ms));
    wait_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (ec || self->finished_) return;
      self->Lookup();
    });
  }

  // Step 2. The claim is taken only when no claim exists: a dead owner's
  // claim is gone when its lease (a TTL judged by the store) has run out.
  void Claim() {
    IdemClaim claim{id_, fingerprint_, server_->config_.name};
    auto self = shared_from_this();
    Store({"SET", claim_key_, EncodeIdemClaim(claim), "NX", "PX", std::to_string(lease_ms())},
          [self](const RespReply& r) {
            if (r.type == RespReply::Type::kSimple) return self->Claimed();
            // Applied or not, step 1 tells: the claim is ours, or absent.
            if (IsUnknownOutcome(r)) return self->AfterUnknown(r, [self] { self->Lookup(); });
            if (!r.IsNil()) return self->Unexpected("SET claim NX", r);
            self->Lookup();
          });
  }

  // The store's "outcome unknown" reply (a write not committed by the
  // store's deadline, as in a failover) to a step before the order's write:
  // nothing of the order exists, so the step runs again, a few times; then
  // 503 with Retry-After, as for a store that is unavailable.
  void AfterUnknown(const RespReply& r, const std::function<void()>& again) {
    if (++unknown_replies_ < kMaxUnknownReplies) return again();
    StoreResult result;
    result.outcome = StoreResult::Outcome::kUnavailable;
    result.error = r.text;
    Finish(server_->StoreFailure(result));
  }

  void Claimed() {
    if (claimed_) return;
    claimed_ = true;
    if (waited_) server_->counters_.takeovers->Add();
    Renew();
    Allocate();
  }

  // Extends the claim's lease every lease/3 while the request runs. PEXPIRE
  // extends whatever claim is there: if ours ran out and another request
  // took the key, we extend that live request's claim, which is harmless
  // (step 4 decides which order exists, not the claim).
  // A renewal has until the lease would run out (and no longer than the
  // request), which is shorter than the store client's attempt timeout
  // (store_timeout_ms / 2): it is sent with its own attempt timeout of a
  // quarter lease, so a frozen or partitioned store member costs it one
  // short attempt before it moves to the next member, not the lease.
  void Renew() {
    renew_timer_.expires_after(std::chrono::milliseconds(std::max(1, lease_ms() / 3)));
    renew_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (ec || self->finished_) return;
      int64_t deadline =
          std::min(self->server_->clock_.NowMillis() + self->lease_ms(), self->deadline_ms_);
      self->server_->store_.Call(
          {"PEXPIRE", self->claim_key_, std::to_string(self->lease_ms())}, deadline,
          [self](const StoreResult& result) {
            if (result.ok() && result.reply.type == RespReply::Type::kInteger &&
                result.reply.integer == 0 && !self->finished_ && !self->claim_lost_) {
              self->claim_lost_ = true;
              self->server_->counters_.claims_lost->Add();
              LogWarn("app", "POST /orders {}: the claim's lease ran out while it ran", self->id_);
            }
          },
          std::max(kMinRenewalAttemptMs, self->lease_ms() / 4));
      self->Renew();
    });
  }

  void DifferentBody() {
    Finish(JsonError(422, "this Idempotency-Key was used with a different request body"));
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
      if (order != self->order_json_) return self->DifferentBody();
      self->server_->counters_.replayed->Add();
      http::Response response = http::Response::Json(200, std::move(r.text));
      response.headers.emplace_back("Location", "/orders/" + id);
      self->Finish(std::move(response));
    });
  }

  // Step 3.
  void Allocate() {
    auto self = shared_from_this();
    Store({"INCR", SequenceKey()}, [self](const RespReply& r) {
      // Applied or not, taking another number only leaves a gap.
      if (IsUnknownOutcome(r)) return self->AfterUnknown(r, [self] { self->Allocate(); });
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
      self->Commit();
    });
  }

  // Step 4: the order, its index entry and (with a key) its done record, in
  // one write that is applied whole or not at all.
  void Commit() {
    std::vector<std::string> args = {"MSETNX", OrderKey(id_), record_, IndexKey(seq_), id_};
    if (!idem_key_.empty()) {
      args.push_back(idem_key_);
      args.push_back(EncodeIdemState(IdemState{true, id_, fingerprint_}));
    }
    writing_order_ = true;
    auto self = shared_from_this();
    Store(args, [self](const RespReply& r) {
      if (r.type != RespReply::Type::kInteger) return self->Unexpected("MSETNX", r);
      if (r.integer == 1) {
        self->order_written_ = true;
        return self->Created();
      }
      self->Refused();
    });
  }

  // MSETNX found a key already there. order:ID is new and random and
  // orders:by_seq:N was handed to us alone, so either an earlier attempt of
  // this very MSETNX committed (the store client retried it after a lost
  // reply), or, with a key, another request's order for the key exists.
  void Refused() {
    auto self = shared_from_this();
    if (idem_key_.empty()) {
      return Store({"GET", OrderKey(id_)}, [self](const RespReply& g) {
        if (g.IsNil()) return self->IndexTaken();
        if (g.type != RespReply::Type::kBulk || g.text != self->record_) {
          return self->Unexpected("GET after MSETNX", g);
        }
        self->Recovered();
      });
    }
    Store({"GET", idem_key_}, [self](const RespReply& g) {
      if (g.IsNil()) return self->IndexTaken();
      IdemState state;
      if (g.type != RespReply::Type::kBulk || !DecodeIdemState(g.text, &state)) {
        return self->Unexpected("GET idem after MSETNX", g);
      }
      if (state.done && state.id == self->id_) return self->Recovered();
      // Not ours, so our MSETNX was never applied (one done record per key,
      // and only MSETNX writes it): nothing of this request exists.
      self->writing_order_ = false;
      if (!state.done) {
        // An older version's "pending" claim (rolling upgrade): it will
        // write its own order; ours is not made.
        return self->Finish(
            JsonError(409, "a request with this Idempotency-Key is in progress; retry later"));
      }
      self->server_->counters_.lost_commits->Add();
      self->Replay(state.id);
    });
  }

  // MSETNX was refused and neither our order nor the key's done record
  // exists (they are written together): orders:by_seq:N was there already
  // (orders:seq was set back by hand). It stays, so no attempt of our MSETNX
  // can ever apply: take the next number, a few times.
  void IndexTaken() {
    writing_order_ = false;
    if (++allocations_ >= kMaxAllocations) {
      LogWarn("app", "POST /orders {}: orders:by_seq:{} and {} more numbers already taken", id_,
              seq_, kMaxAllocations - 1);
      return Finish(JsonError(500, "orders:seq is behind the order index"));
    }
    Allocate();
  }

  void Recovered() {
    order_written_ = true;
    server_->counters_.recovered->Add();
    Created();
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

  // Until the order's MSETNX may have been applied nothing of it exists: the
  // usual 503 (or 500 for a store error). After, the order may exist, and a
  // retry without a key could create a second one: 504, no Retry-After. An
  // error reply to that MSETNX other than -TRYAGAIN (which the client
  // retries: it means "not applied") counts as "may have been applied".
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

  // Answers once; stops the renewal (the claim then runs out within a lease
  // unless the done record already decides the key).
  void Finish(http::Response response) {
    if (finished_) return;
    finished_ = true;
    wait_timer_.cancel();
    renew_timer_.cancel();
    reply_(std::move(response));
  }

  AppServer* server_;
  std::string idem_key_;   // "" without a key
  std::string claim_key_;  // "" without a key
  std::string id_;         // also this request's token in its claim
  std::string order_json_;
  std::string fingerprint_;
  Reply reply_;
  int64_t deadline_ms_;
  int64_t wait_until_ms_;  // waiting on another request's claim ends here: 409
  asio::steady_timer wait_timer_;
  asio::steady_timer renew_timer_;
  static constexpr int kMaxAllocations = 3;
  static constexpr int kMaxUnknownReplies = 3;
  static constexpr int kMinRenewalAttemptMs = 20;  // two store client sweeps (10 ms)
  int64_t seq_ = 0;
  int allocations_ = 0;         // numbers refused because their index key was taken
  int unknown_replies_ = 0;     // "outcome unknown" replies to the claim or INCR
  bool waited_ = false;         // found another request's claim at least once
  bool claimed_ = false;        // holds the claim (renewing it)
  bool claim_lost_ = false;     // a renewal found the claim gone
  bool finished_ = false;       // answered
  bool writing_order_ = false;  // the order's MSETNX was sent
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
  std::string claim_key;
  if (FindHeader(request, "Idempotency-Key", &key)) {
    if (!ValidIdempotencyKey(key)) {
      return reply(JsonError(
          400, fmt::format("Idempotency-Key must be 1 to {} characters of A-Z a-z 0-9 . _ : -",
                           kMaxIdempotencyKeyBytes)));
    }
    std::string scope = IdempotencyScope(request.Header("Authorization"));
    idem_key = IdemKey(scope, key);
    claim_key = ClaimKey(scope, key);
  }
  std::string id = NewOrderId(rng_(), rng_());
  std::make_shared<PostOrder>(this, std::move(idem_key), std::move(claim_key), std::move(id),
                              std::move(canonical), std::move(reply))
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
