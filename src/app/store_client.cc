// StoreClient: operations, per-member connection slots, retries with backoff
// on the next member, timeouts by a 10 ms sweep, PING health checks.
#include "app/store_client.h"

#include <fmt/format.h>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "base/log.h"
#include "net/tcp.h"

namespace nines::app {

bool IsRetryableStoreError(const RespReply& reply) {
  if (!reply.IsError()) return false;
  std::string_view t = reply.text;
  for (std::string_view prefix : {"TRYAGAIN", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "READONLY"}) {
    if (t.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

struct StoreClient::Operation {
  std::string encoded;
  int64_t deadline_ms = 0;
  StoreCallback done;
  bool finished = false;
  bool counted = false;  // holds a slot of max_pending
  int attempts = 0;
  int last_member = -1;
  int pinned_member = -1;      // health PINGs: this member only, one attempt
  int attempt_timeout_ms = 0;  // > 0: moved on to the next member after this long
  int64_t retry_at_ms = 0;
  std::string last_error;
  bool maybe_applied = false;  // an attempt reached a connected socket and was lost
};

class StoreClient::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(StoreClient* client, int member, asio::io_context& io, Endpoint endpoint)
      : client_(client), member_(member), socket_(io), endpoint_(std::move(endpoint)) {}

  size_t in_flight() const { return pending_.size(); }
  bool closed() const { return closed_; }

  void Send(const std::shared_ptr<Operation>& op) {
    pending_.push_back({op, client_->NowMs()});
    out_ += op->encoded;
    if (state_ == State::kIdle) return Connect();
    if (state_ == State::kReady) Flush();
  }

  // Closes the connection; every command still waiting on it is retried.
  void Fail(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    std::error_code ec;
    socket_.close(ec);
    std::deque<Pending> pending = std::move(pending_);
    pending_.clear();
    client_->OnConnectionFailed(member_, why);
    for (Pending& p : pending) {
      if (state_ == State::kReady) p.op->maybe_applied = true;
      if (!p.op->finished && !p.abandoned) client_->OnAttemptFailed(p.op, member_, why);
    }
  }

  void Check(int64_t now) {
    if (closed_) return;
    int timeout = client_->options_.attempt_timeout_ms;
    if (state_ == State::kConnecting && now - connect_started_ms_ > timeout) {
      return Fail(
          fmt::format("connect to {} timed out after {} ms", endpoint_.ToString(), timeout));
    }
    if (!pending_.empty() && now - pending_.front().sent_ms > timeout) {
      return Fail(fmt::format("no reply from {} within {} ms", endpoint_.ToString(), timeout));
    }
    // Collected first: a finished command's callback may send more on this connection.
    std::vector<std::shared_ptr<Operation>> expired;
    std::vector<std::shared_ptr<Operation>> slow;  // past their own attempt timeout
    for (Pending& p : pending_) {
      if (p.op->finished) continue;
      if (now >= p.op->deadline_ms) {
        expired.push_back(p.op);
      } else if (!p.abandoned && p.op->attempt_timeout_ms > 0 &&
                 now - p.sent_ms > p.op->attempt_timeout_ms) {
        // Its reply, if it ever comes, stays in this connection's order.
        p.abandoned = true;
        if (state_ == State::kReady) p.op->maybe_applied = true;
        slow.push_back(p.op);
      }
    }
    for (auto& op : slow) {
      client_->OnAttemptFailed(op, member_,
                               fmt::format("no reply from {} within {} ms", endpoint_.ToString(),
                                           op->attempt_timeout_ms));
    }
    for (auto& op : expired) {
      if (state_ == State::kReady) op->maybe_applied = true;
      StoreResult r;
      r.outcome = StoreResult::Outcome::kUnavailable;
      r.error = op->last_error.empty() ? "deadline passed waiting for " + endpoint_.ToString()
                                       : op->last_error;
      client_->Finish(op, std::move(r));
    }
  }

 private:
  struct Pending {
    std::shared_ptr<Operation> op;
    int64_t sent_ms;
    bool abandoned = false;  // op's attempt timeout passed: it moved to another member
  };
  enum class State { kIdle, kConnecting, kReady };

  void Connect() {
    state_ = State::kConnecting;
    connect_started_ms_ = client_->NowMs();
    socket_.async_connect(ToTcp(endpoint_), [self = shared_from_this()](std::error_code ec) {
      if (self->closed_) return;
      if (ec) {
        return self->Fail(
            fmt::format("connect to {}: {}", self->endpoint_.ToString(), ec.message()));
      }
      std::error_code ignored;
      self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
      self->state_ = State::kReady;
      if (!self->client_->options_.password.empty()) {
        // AUTH goes ahead of every command already queued; its reply is read first.
        std::string auth;
        AppendRespCommand({"AUTH", self->client_->options_.password}, &auth);
        self->out_.insert(0, auth);
        self->awaiting_auth_ = true;
      }
      self->Flush();
      self->Read();
    });
  }

  void Flush() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    write_buffer_.swap(out_);
    out_.clear();
    asio::async_write(socket_, asio::buffer(write_buffer_),
                      [self = shared_from_this()](std::error_code ec, size_t) {
                        self->writing_ = false;
                        self->write_buffer_.clear();
                        if (self->closed_) return;
                        if (ec) {
                          return self->Fail(fmt::format("write to {}: {}",
                                                        self->endpoint_.ToString(), ec.message()));
                        }
                        self->Flush();
                      });
  }

  void Read() {
    socket_.async_read_some(
        asio::buffer(chunk_), [self = shared_from_this()](std::error_code ec, size_t n) {
          if (self->closed_) return;
          if (ec) {
            return self->Fail(
                ec == asio::error::eof
                    ? fmt::format("{} closed the connection", self->endpoint_.ToString())
                    : fmt::format("read from {}: {}", self->endpoint_.ToString(), ec.message()));
          }
          self->in_.append(self->chunk_.data(), n);
          self->Parse();
          if (!self->closed_) self->Read();
        });
  }

  void Parse() {
    size_t offset = 0;
    while (!closed_) {
      RespReply reply;
      size_t consumed = 0;
      std::string error;
      RespParse r = ParseRespReply(std::string_view(in_).substr(offset),
                                   client_->options_.reply_limits, &reply, &consumed, &error);
      if (r == RespParse::kNeedMore) break;
      if (r == RespParse::kReply && awaiting_auth_) {
        awaiting_auth_ = false;
        offset += consumed;
        if (reply.IsError()) {
          return Fail(fmt::format("{} refused AUTH: {}", endpoint_.ToString(), reply.text));
        }
        continue;
      }
      if (r == RespParse::kError || pending_.empty()) {
        return Fail(fmt::format("bad reply from {}: {}", endpoint_.ToString(),
                                r == RespParse::kError ? error : "reply without a request"));
      }
      offset += consumed;
      Pending p = std::move(pending_.front());
      pending_.pop_front();
      client_->OnReply(p.op, member_, std::move(reply), !p.abandoned);
    }
    in_.erase(0, offset);
  }

  StoreClient* client_;
  int member_;
  asio::ip::tcp::socket socket_;
  Endpoint endpoint_;
  State state_ = State::kIdle;
  bool closed_ = false;
  bool writing_ = false;
  bool awaiting_auth_ = false;  // the AUTH reply comes before any command's
  int64_t connect_started_ms_ = 0;
  std::deque<Pending> pending_;
  std::string out_;
  std::string write_buffer_;
  std::string in_;
  std::array<char, 16384> chunk_{};
};

StoreClient::StoreClient(asio::io_context& io, StoreClientOptions options, MetricsRegistry* metrics)
    : io_(io), options_(std::move(options)), sweep_timer_(io) {
  members_.resize(options_.members.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    m.endpoint = options_.members[i];
    m.connections.resize(static_cast<size_t>(options_.connections_per_member));
    MetricsRegistry::Labels labels = {{"member", m.endpoint.ToString()}};
    m.requests = metrics->GetCounter("nines_app_store_commands_total",
                                     "commands sent to each store member", labels);
    m.failures_total = metrics->GetCounter(
        "nines_app_store_failures_total",
        "failed attempts per store member (connection loss, timeout, TRYAGAIN)", labels);
    metrics->AddGaugeCallback(
        "nines_app_store_member_up", "1 if the member answered within healthy_within_ms", labels,
        [this, i] {
          const Member& mm = members_[i];
          return mm.last_ok_ms >= 0 && NowMs() - mm.last_ok_ms <= options_.healthy_within_ms ? 1.0
                                                                                             : 0.0;
        });
  }
  retries_ = metrics->GetCounter("nines_app_store_retries_total",
                                 "store commands sent again (to the next member)");
  unavailable_ = metrics->GetCounter("nines_app_store_unavailable_total",
                                     "store commands that failed by their deadline");
  overloaded_ = metrics->GetCounter("nines_app_store_overloaded_total",
                                    "store commands refused because max_pending were pending");
  tryagain_ = metrics->GetCounter("nines_app_store_tryagain_total",
                                  "-TRYAGAIN (and similar) replies from store members");
  metrics->AddGaugeCallback("nines_app_store_pending", "store commands pending", {},
                            [this] { return static_cast<double>(pending_); });
  metrics->AddGaugeCallback("nines_app_store_pending_limit", "max_pending", {},
                            [this] { return static_cast<double>(options_.max_pending); });
}

StoreClient::~StoreClient() {
  // A destructor must not throw; an allocation failure while failing the
  // waiting operations at shutdown has nobody left to report to.
  try {
    Stop();
  } catch (...) {
  }
}

void StoreClient::Start() {
  Sweep();
}

void StoreClient::Stop() {
  if (stopped_) return;
  stopped_ = true;
  sweep_timer_.cancel();
  for (Member& m : members_) {
    std::vector<std::shared_ptr<Connection>> connections = m.connections;  // Fail resets slots
    for (auto& c : connections) {
      if (c) c->Fail("store client stopping");
    }
  }
  std::deque<std::shared_ptr<Operation>> waiting = std::move(waiting_);
  for (auto& op : waiting) {
    StoreResult r;
    r.error = "store client stopping";
    Finish(op, std::move(r));
  }
}

void StoreClient::Call(const std::vector<std::string>& args, int64_t deadline_ms,
                       StoreCallback done, int attempt_timeout_ms) {
  auto op = std::make_shared<Operation>();
  AppendRespCommand(args, &op->encoded);
  op->deadline_ms = deadline_ms;
  op->attempt_timeout_ms = attempt_timeout_ms;
  op->done = std::move(done);
  if (pending_ >= options_.max_pending || stopped_) {
    overloaded_->Add();
    StoreResult r;
    r.outcome = StoreResult::Outcome::kOverloaded;
    r.error = stopped_ ? "store client stopped"
                       : fmt::format("{} store commands pending (max_pending)", pending_);
    op->finished = true;
    op->done(std::move(r));
    return;
  }
  op->counted = true;
  ++pending_;
  Dispatch(op);
}

bool StoreClient::Reachable() const {
  int64_t now = NowMs();
  for (const Member& m : members_) {
    if (m.last_ok_ms >= 0 && now - m.last_ok_ms <= options_.healthy_within_ms) return true;
  }
  return false;
}

int StoreClient::PickMember(const Operation& op) const {
  if (op.pinned_member >= 0) return op.pinned_member;
  int n = static_cast<int>(members_.size());
  auto suspect = [&](int i) { return members_[i].last_failure_ms > members_[i].last_ok_ms; };
  int start = op.last_member < 0 ? 0 : op.last_member + 1;
  for (int k = 0; k < n; ++k) {
    int candidate = (start + k) % n;
    if (!suspect(candidate)) return candidate;
  }
  return start % n;
}

void StoreClient::Dispatch(const std::shared_ptr<Operation>& op) {
  if (op->finished) return;
  if (stopped_ || NowMs() >= op->deadline_ms || (op->pinned_member >= 0 && op->attempts > 0)) {
    StoreResult r;
    r.error = stopped_ ? "store client stopping"
                       : (op->last_error.empty() ? "deadline passed" : op->last_error);
    return Finish(op, std::move(r));
  }
  int member = PickMember(*op);
  if (op->attempts > 0 && op->pinned_member < 0) retries_->Add();
  op->attempts++;
  op->last_member = member;
  Member& m = members_[static_cast<size_t>(member)];
  m.requests->Add();
  // The open connection with the fewest commands in flight; a new one in a
  // free slot when every open connection is busy.
  std::shared_ptr<Connection>* best = nullptr;
  std::shared_ptr<Connection>* free_slot = nullptr;
  for (auto& slot : m.connections) {
    if (!slot || slot->closed()) {
      if (!free_slot) free_slot = &slot;
      continue;
    }
    if (!best || slot->in_flight() < (*best)->in_flight()) best = &slot;
  }
  if (free_slot && (!best || (*best)->in_flight() > 0)) {
    *free_slot = std::make_shared<Connection>(this, member, io_, m.endpoint);
    best = free_slot;
  }
  (*best)->Send(op);
}

void StoreClient::OnReply(const std::shared_ptr<Operation>& op, int member, RespReply reply,
                          bool current) {
  Member& m = members_[static_cast<size_t>(member)];
  if (IsRetryableStoreError(reply)) {
    tryagain_->Add();
    if (op->pinned_member >= 0) m.last_ok_ms = NowMs();  // PING answered: reachable
    if (!current) return;                                // the command is on another member already
    return OnAttemptFailed(op, member, fmt::format("{}: -{}", m.endpoint.ToString(), reply.text));
  }
  m.last_ok_ms = NowMs();
  if (op->finished) return;
  StoreResult r;
  r.outcome = StoreResult::Outcome::kOk;
  r.reply = std::move(reply);
  Finish(op, std::move(r));
}

void StoreClient::OnConnectionFailed(int member, const std::string& why) {
  Member& m = members_[static_cast<size_t>(member)];
  for (auto& slot : m.connections) {
    if (slot && slot->closed()) slot.reset();
  }
  if (m.last_error != why) LogDebug("app", "store member {}: {}", m.endpoint.ToString(), why);
}

void StoreClient::OnAttemptFailed(const std::shared_ptr<Operation>& op, int member,
                                  const std::string& why) {
  Member& m = members_[static_cast<size_t>(member)];
  int64_t now = NowMs();
  m.last_failure_ms = now;
  m.failures++;
  m.failures_total->Add();
  m.last_error = why;
  if (op->finished) return;
  op->last_error = why;
  if (op->pinned_member >= 0 || stopped_ || now >= op->deadline_ms) {
    StoreResult r;
    r.error = why;
    return Finish(op, std::move(r));
  }
  // The first retry goes at once to the next member; later ones back off
  // (25, 50, 100, 200 ms) so a group without a leader is not hammered.
  int64_t backoff =
      op->attempts <= 1 ? 0 : std::min<int64_t>(200, 25LL << std::min(op->attempts - 2, 3));
  op->retry_at_ms = now + backoff;
  if (backoff == 0) {
    asio::post(io_, [this, op] { Dispatch(op); });
  } else {
    waiting_.push_back(op);
  }
}

void StoreClient::Finish(const std::shared_ptr<Operation>& op, StoreResult result) {
  if (op->finished) return;
  op->finished = true;
  if (op->counted) --pending_;
  result.attempts = op->attempts;
  if (!result.ok()) result.maybe_applied = op->maybe_applied;
  if (result.outcome == StoreResult::Outcome::kUnavailable && op->pinned_member < 0) {
    unavailable_->Add();
  }
  StoreCallback done = std::move(op->done);
  done(std::move(result));
}

void StoreClient::SendPings() {
  int64_t now = NowMs();
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (m.ping_in_flight) continue;
    m.ping_in_flight = true;
    auto op = std::make_shared<Operation>();
    AppendRespCommand({"PING"}, &op->encoded);
    op->deadline_ms = now + options_.attempt_timeout_ms;
    op->pinned_member = static_cast<int>(i);
    op->done = [this, i](const StoreResult&) { members_[i].ping_in_flight = false; };
    Dispatch(op);
  }
}

void StoreClient::Sweep() {
  if (stopped_) return;
  int64_t now = NowMs();
  std::deque<std::shared_ptr<Operation>> due;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if ((*it)->retry_at_ms <= now || (*it)->deadline_ms <= now || (*it)->finished) {
      due.push_back(*it);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& op : due) Dispatch(op);
  for (Member& m : members_) {
    std::vector<std::shared_ptr<Connection>> connections = m.connections;  // Check may reset slots
    for (auto& c : connections) {
      if (c) c->Check(now);
    }
  }
  if (now - last_ping_ms_ >= options_.health_interval_ms) {
    last_ping_ms_ = now;
    SendPings();
  }
  sweep_timer_.expires_after(std::chrono::milliseconds(10));
  sweep_timer_.async_wait([this](std::error_code ec) {
    if (!ec) Sweep();
  });
}

std::string StoreClient::StatusJson() const {
  nlohmann::json members = nlohmann::json::array();
  int64_t now = NowMs();
  for (const Member& m : members_) {
    size_t open = 0;
    size_t in_flight = 0;
    for (const auto& c : m.connections) {
      if (c && !c->closed()) {
        ++open;
        in_flight += c->in_flight();
      }
    }
    members.push_back({
        {"address", m.endpoint.ToString()},
        {"up", m.last_ok_ms >= 0 && now - m.last_ok_ms <= options_.healthy_within_ms},
        {"last_ok_ms_ago",
         m.last_ok_ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(now - m.last_ok_ms)},
        {"failures", m.failures},
        {"last_error", m.last_error},
        {"connections", open},
        {"in_flight", in_flight},
    });
  }
  nlohmann::json j = {
      {"reachable", Reachable()},
      {"pending", pending_},
      {"max_pending", options_.max_pending},
      {"waiting_retry", waiting_.size()},
      {"attempt_timeout_ms", options_.attempt_timeout_ms},
      {"members", members},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace nines::app
