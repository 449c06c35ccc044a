// The orders endpoints: POST /orders (idempotent through SET NX on order:ID),
// GET /orders/ID and GET /orders?limit=N, each a short chain of store commands
// sharing one deadline (store_timeout_ms from the request's arrival).
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

http::Response JsonError(int status, std::string_view message) {
  nlohmann::json j = {{"error", message}};
  return http::Response::Json(status,
                              j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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

// POST /orders:
//   1. GET order:ID          found: 200 with it (the key was used before)
//   2. INCR orders:seq       the new order's sequence number
//   3. SET order:ID REC NX   OK: ours. nil: someone has it, so
//   3b. GET order:ID         same bytes as REC: our own earlier attempt
//                            committed (the store client retried): 201;
//                            otherwise another request won: 200 with theirs
//   4. SET orders:by_seq:N ID  (idempotent) then answer
// A retried INCR only leaves a gap in the sequence; listing skips gaps.
class AppServer::PostOrder : public std::enable_shared_from_this<PostOrder> {
 public:
  PostOrder(AppServer* server, std::string id, std::string order_json, Reply reply)
      : server_(server),
        id_(std::move(id)),
        order_json_(std::move(order_json)),
        reply_(std::move(reply)),
        deadline_ms_(SteadyNowMs() + server->config_.store_timeout_ms) {}

  void Start() {
    auto self = shared_from_this();
    Store({"GET", OrderKey(id_)}, [self](RespReply r) {
      if (r.type == RespReply::Type::kBulk) return self->Existing(std::move(r.text));
      if (!r.IsNil()) return self->Unexpected("GET", r);
      self->Allocate();
    });
  }

 private:
  void Allocate() {
    auto self = shared_from_this();
    Store({"INCR", SequenceKey()}, [self](const RespReply& r) {
      if (r.type != RespReply::Type::kInteger) return self->Unexpected("INCR", r);
      OrderRecord record;
      record.id = self->id_;
      record.created_ms = WallNowMs();
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
    Store({"SET", OrderKey(id_), record_, "NX"}, [self](const RespReply& r) {
      if (r.type == RespReply::Type::kSimple) return self->Index(self->seq_, 201, self->record_);
      if (!r.IsNil()) return self->Unexpected("SET", r);
      // Refused: the key exists. Ours (an earlier attempt that committed
      // although its reply was lost) or another request's?
      self->Store({"GET", OrderKey(self->id_)}, [self](RespReply g) {
        if (g.type != RespReply::Type::kBulk) return self->Unexpected("GET after SET NX", g);
        if (g.text == self->record_) {
          self->server_->counters_.recovered->Add();
          return self->Index(self->seq_, 201, self->record_);
        }
        self->Existing(std::move(g.text));
      });
    });
  }

  // The key was used before: answer with that order, and make sure its index
  // entry exists (its creator may have died between the two writes).
  void Existing(std::string record) {
    std::string id;
    int64_t seq = 0;
    if (!DecodeOrderRecord(record, &id, &seq)) {
      return Finish(JsonError(500, "stored order is not a valid record"));
    }
    server_->counters_.replayed->Add();
    Index(seq, 200, std::move(record));
  }

  void Index(int64_t seq, int status, std::string record) {
    auto self = shared_from_this();
    Store({"SET", IndexKey(seq), id_},
          [self, status, record = std::move(record)](const RespReply& r) {
            if (r.IsError()) return self->Unexpected("SET index", r);
            if (status == 201) self->server_->counters_.created->Add();
            http::Response response = http::Response::Json(status, record);
            response.headers.emplace_back("Location", "/orders/" + self->id_);
            self->Finish(std::move(response));
          });
  }

  // Runs one store command; on failure answers 503/500 and stops the chain.
  void Store(std::vector<std::string> args, std::function<void(RespReply)> next) {
    auto self = shared_from_this();
    server_->store_.Call(std::move(args), deadline_ms_,
                         [self, next = std::move(next)](StoreResult result) {
                           if (!result.ok())
                             return self->Finish(self->server_->StoreFailure(result));
                           next(std::move(result.reply));
                         });
  }

  void Unexpected(const char* step, const RespReply& r) {
    if (r.IsError()) {
      StoreResult result;
      result.status = StoreResult::Status::kOk;
      result.reply = r;
      return Finish(server_->StoreFailure(result));
    }
    LogWarn("app", "POST /orders {}: unexpected store reply {}", step, r.Describe());
    Finish(JsonError(500, fmt::format("unexpected store reply to {}", step)));
  }

  void Finish(http::Response response) { reply_(std::move(response)); }

  AppServer* server_;
  std::string id_;
  std::string order_json_;
  Reply reply_;
  int64_t deadline_ms_;
  int64_t seq_ = 0;
  std::string record_;
};

void AppServer::PostOrders(const http::Request& request, Reply reply) {
  // Served while draining too: a request that reached us before the balancer
  // saw /healthz turn 503 deserves an answer.
  std::string canonical;
  std::string problem = ValidateOrderBody(request.body, &canonical);
  if (!problem.empty()) return reply(JsonError(400, problem));
  std::string key;
  std::string id;
  if (FindHeader(request, "Idempotency-Key", &key)) {
    if (!ValidIdempotencyKey(key)) {
      return reply(JsonError(
          400, fmt::format("Idempotency-Key must be 1 to {} characters of A-Z a-z 0-9 . _ : -",
                           kMaxIdempotencyKeyBytes)));
    }
    id = OrderIdForClientKey(key);
  } else {
    id = OrderIdForGeneratedKey(nonce_, ++generated_);
  }
  std::make_shared<PostOrder>(this, std::move(id), std::move(canonical), std::move(reply))->Start();
}

void AppServer::GetOrder(const std::string& id, const Reply& reply) {
  if (!ValidOrderId(id)) return reply(JsonError(404, "not found"));
  store_.Call({"GET", OrderKey(id)}, SteadyNowMs() + config_.store_timeout_ms,
              [this, reply](const StoreResult& result) {
                if (!result.ok() || result.reply.IsError()) return reply(StoreFailure(result));
                if (result.reply.IsNil()) return reply(JsonError(404, "not found"));
                reply(http::Response::Json(200, result.reply.text));
              });
}

// GET /orders?limit=N: read orders:seq, then walk the index downwards in
// windows (MGET of index keys, then MGET of the orders), skipping gaps and
// duplicates, at most kMaxRounds windows.
class AppServer::ListOrders : public std::enable_shared_from_this<ListOrders> {
 public:
  static constexpr int kMaxRounds = 4;

  ListOrders(AppServer* server, int limit, Reply reply)
      : server_(server),
        limit_(limit),
        reply_(std::move(reply)),
        deadline_ms_(SteadyNowMs() + server->config_.store_timeout_ms) {}

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

  void Round() {
    if (next_ < 1 || static_cast<int>(records_.size()) >= limit_ || rounds_ >= kMaxRounds) {
      return Respond();
    }
    ++rounds_;
    int64_t window =
        std::min<int64_t>(std::max(2 * (limit_ - static_cast<int>(records_.size())), 8), 200);
    std::vector<std::string> args = {"MGET"};
    for (int64_t s = next_; s > 0 && s > next_ - window; --s) args.push_back(IndexKey(s));
    next_ -= window;
    auto self = shared_from_this();
    Store(std::move(args), [self](const RespReply& r) {
      if (r.type != RespReply::Type::kArray) return self->Finish(JsonError(500, "bad MGET reply"));
      std::vector<std::string> ids = {"MGET"};
      for (const RespReply& e : r.elements) {
        if (e.type != RespReply::Type::kBulk || !self->seen_.insert(e.text).second) continue;
        ids.push_back(OrderKey(e.text));
      }
      if (ids.size() == 1) return self->Round();
      self->Store(std::move(ids), [self](const RespReply& o) {
        if (o.type != RespReply::Type::kArray) {
          return self->Finish(JsonError(500, "bad MGET reply"));
        }
        for (const RespReply& e : o.elements) {
          if (static_cast<int>(self->records_.size()) >= self->limit_) break;
          if (e.type == RespReply::Type::kBulk && nlohmann::json::accept(e.text)) {
            self->records_.push_back(e.text);
          }
        }
        self->Round();
      });
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

  void Store(std::vector<std::string> args, std::function<void(RespReply)> next) {
    auto self = shared_from_this();
    server_->store_.Call(std::move(args), deadline_ms_,
                         [self, next = std::move(next)](StoreResult result) {
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
  int64_t next_ = 0;
  int rounds_ = 0;
  std::set<std::string> seen_;
  std::vector<std::string> records_;
};

void AppServer::GetOrders(const http::Request& request, Reply reply) {
  int limit = 0;
  std::string problem = ParseListLimit(request.QueryParam("limit"), &limit);
  if (!problem.empty()) return reply(JsonError(400, problem));
  std::make_shared<ListOrders>(this, limit, std::move(reply))->Start();
}

}  // namespace nines::app
