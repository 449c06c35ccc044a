// An asynchronous RESP2 client for the nines store, built for failover: a few
// pipelined connections per member, every command retried on the next member
// after a connection loss, a silent member or -TRYAGAIN, until the caller's
// deadline; a bounded number of commands pending; PINGs that tell whether any
// member is reachable. Everything runs on one io_context (no locks).
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/resp_reply.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/metrics.h"

namespace nines::app {

struct StoreClientOptions {
  std::vector<Endpoint> members;  // nearest first
  int connections_per_member = 2;
  size_t max_pending = 4096;      // commands accepted and not yet answered
  int attempt_timeout_ms = 1500;  // connect or reply slower than this: try the next member
  int health_interval_ms = 500;   // PING every member this often
  int healthy_within_ms = 2000;   // Reachable(): some member answered within this long
  RespReplyLimits reply_limits;
  std::string password;  // the store's requirepass: AUTH first on every connection
  // Deadlines, attempt timeouts, backoff and health are measured on this
  // monotonic clock (a test may pass a ManualClock; it must outlive the client).
  const Clock* clock = &SteadyClock::Instance();
};

struct StoreResult {
  // Named apart from nines::Status: how a command fared, not an error value.
  enum class Outcome { kOk, kUnavailable, kOverloaded };
  Outcome outcome = Outcome::kUnavailable;
  RespReply reply;    // kOk: the member's reply (may be a non-retryable error)
  std::string error;  // otherwise: the last failure seen
  int attempts = 0;
  // Not kOk, and some attempt was written to a member and then lost (no
  // reply, connection gone): a write may have been applied.
  bool maybe_applied = false;
  bool ok() const { return outcome == Outcome::kOk; }
};

using StoreCallback = std::function<void(StoreResult)>;

// True for the replies that mean "ask again, maybe elsewhere" (-TRYAGAIN ...).
bool IsRetryableStoreError(const RespReply& reply);

class StoreClient {
 public:
  StoreClient(asio::io_context& io, StoreClientOptions options, MetricsRegistry* metrics);
  ~StoreClient();
  StoreClient(const StoreClient&) = delete;
  StoreClient& operator=(const StoreClient&) = delete;

  void Start();  // health checks
  void Stop();   // closes every connection; pending commands fail

  // Sends one command. `done` runs exactly once, on the io_context's thread.
  // Retries through failures until deadline_ms (NowMs() scale).
  // attempt_timeout_ms > 0: this command's own, shorter attempt timeout. With
  // no reply within it, the command is sent again to the next member (the
  // silent one is suspected); the first reply from either counts. For a
  // command whose deadline is shorter than options.attempt_timeout_ms (a
  // lease's renewal), which would otherwise never leave a frozen member.
  void Call(const std::vector<std::string>& args, int64_t deadline_ms, StoreCallback done,
            int attempt_timeout_ms = 0);

  // Some member answered (PING or any command) within healthy_within_ms.
  bool Reachable() const;
  // Milliseconds on options.clock: the scale of Call's deadline_ms.
  int64_t NowMs() const { return options_.clock->NowMillis(); }
  size_t pending() const { return pending_; }
  size_t max_pending() const { return options_.max_pending; }
  // JSON object for GET /status.
  std::string StatusJson() const;

 private:
  struct Operation;
  class Connection;
  struct Member {
    Endpoint endpoint;
    std::vector<std::shared_ptr<Connection>> connections;
    size_t next_connection = 0;
    int64_t last_ok_ms = -1;
    int64_t last_failure_ms = -1;
    std::string last_error;
    bool ping_in_flight = false;
    uint64_t failures = 0;
    Counter* requests = nullptr;
    Counter* failures_total = nullptr;
  };

  void Dispatch(const std::shared_ptr<Operation>& op);
  int PickMember(const Operation& op) const;
  // current: false for the reply to an attempt the command has moved on from.
  void OnReply(const std::shared_ptr<Operation>& op, int member, RespReply reply, bool current);
  void OnAttemptFailed(const std::shared_ptr<Operation>& op, int member, const std::string& why);
  void OnConnectionFailed(int member, const std::string& why);
  void Finish(const std::shared_ptr<Operation>& op, StoreResult result);
  void Sweep();
  void SendPings();

  asio::io_context& io_;
  StoreClientOptions options_;
  std::vector<Member> members_;
  asio::steady_timer sweep_timer_;
  std::deque<std::shared_ptr<Operation>> waiting_;  // in backoff before a retry
  size_t pending_ = 0;
  int64_t last_ping_ms_ = 0;
  bool stopped_ = false;
  Counter* retries_ = nullptr;
  Counter* unavailable_ = nullptr;
  Counter* overloaded_ = nullptr;
  Counter* tryagain_ = nullptr;
};

}  // namespace nines::app
