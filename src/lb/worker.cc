// Worker: accept loop, deadline sweep, runtime refresh.
#include "lb/worker.h"

#include <asio/post.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/response.h"
#include "lb/h2_connection.h"
#include "lb/proxy_connection.h"
#include "lb/tls_listener.h"
#include "net/tcp.h"

namespace nines::lb {

namespace {

// Takes `n` requests that left this worker's queue out of the depth shared
// by all workers (each was counted in by Enqueue).
void CountDequeued(std::atomic<int>& queued, int n) {
  int before = queued.fetch_sub(n, std::memory_order_relaxed);
  NINES_CHECK(before >= n, "the shared queue depth counts every queued request once");
}

}  // namespace

Worker::Worker(asio::io_context& io, int index, LbShared& shared)
    : io_(io),
      shared_(shared),
      acceptor_(io),
      sweep_timer_(io),
      accept_timer_(io),
      h2_acceptor_(io),
      queue_timer_(io) {
  pick_.rng ^= static_cast<uint64_t>(index + 1) * 0x2545f4914f6cdd1dull;
  pick_.rr_counter = static_cast<uint64_t>(index) * 7919;
  RefreshNow();
}

Worker::~Worker() = default;

int64_t Worker::RefreshNow() {
  now_ms_ = SteadyClock::Instance().NowMillis();
  return now_ms_;
}

const LbRuntime& Worker::runtime() {
  uint64_t generation = shared_.generation();
  if (generation != runtime_generation_) {
    runtime_ = shared_.runtime();
    runtime_generation_ = generation;
  }
  return *runtime_;
}

std::shared_ptr<const LbRuntime> Worker::runtime_ref() {
  runtime();
  return runtime_;
}

void Worker::Start(const Endpoint& listen) {
  OpenListener(acceptor_, listen, true);
  if (const auto& tls = runtime().config.tls) {
    tls_listener_ = std::make_unique<TlsListener>(*this);
    tls_listener_->Start(tls->listen);
  }
  accepting_ = true;
  Accept();
  Sweep();
}

void Worker::StartH2(const Endpoint& listen) {
  OpenListener(h2_acceptor_, listen, true);
  AcceptH2();
}

void Worker::StopAccepting() {
  accepting_ = false;
  accept_timer_.cancel();
  std::error_code ec;
  acceptor_.close(ec);
  h2_acceptor_.close(ec);
  if (tls_listener_) tls_listener_->Stop();
}

void Worker::CloseAll() {
  std::vector<std::shared_ptr<ClientConnection>> all;
  for (ClientConnection* c : connections_) all.push_back(c->shared_from_this());
  for (auto& c : all) c->Close();
  std::vector<std::shared_ptr<H2Connection>> h2;
  for (H2Connection* c : h2_connections_) h2.push_back(c->shared_from_this());
  for (auto& c : h2) c->Close();
  for (auto& q : queue_) {
    CountDequeued(shared_.queued, static_cast<int>(q.size()));
    q.clear();
  }
  sweep_timer_.cancel();
  accept_timer_.cancel();
  queue_timer_.cancel();
}

bool Worker::Enqueue(const std::shared_ptr<ClientConnection>& c, bool established, bool front) {
  const LbConfig& config = runtime().config;
  if (shared_.queued.load(std::memory_order_relaxed) >= config.max_queue) {
    if (!established || queue_[1].empty()) return false;
    std::shared_ptr<ClientConnection> victim = queue_[1].back();
    queue_[1].pop_back();
    CountDequeued(shared_.queued, 1);
    shared_.metrics.queue_evictions->Add();
    if (victim) victim->ShedFromQueue(false);
  }
  shared_.queued.fetch_add(1, std::memory_order_relaxed);
  auto& q = queue_[established ? 0 : 1];
  if (front) {
    q.push_front(c);
  } else {
    q.push_back(c);
  }
  if (!queue_timer_armed_) {
    queue_timer_armed_ = true;
    queue_timer_.expires_after(std::chrono::milliseconds(5));
    queue_timer_.async_wait([this](std::error_code ec) {
      queue_timer_armed_ = false;
      if (!ec) CheckQueueDeadlines();
    });
  }
  return true;
}

std::shared_ptr<ClientConnection> Worker::PopQueued() {
  for (auto& q : queue_) {
    while (!q.empty()) {
      std::shared_ptr<ClientConnection> c = q.front();
      q.pop_front();
      CountDequeued(shared_.queued, 1);
      if (c && c->Queued()) return c;
    }
  }
  return nullptr;
}

void Worker::DrainQueue() {
  drain_posted_.store(false, std::memory_order_relaxed);
  RefreshNow();
  while (true) {
    std::shared_ptr<ClientConnection> c = PopQueued();
    if (!c) return;
    c->ResumeFromQueue();
    if (c->Queued()) return;  // still no free slot: it went back to the front
  }
}

void Worker::RequestDrain() {
  if (drain_posted_.exchange(true, std::memory_order_relaxed)) return;
  asio::post(io_, [this] { DrainQueue(); });
}

void Worker::CheckQueueDeadlines() {
  int64_t now = RefreshNow();
  bool waiting = false;
  for (auto& q : queue_) {
    while (!q.empty()) {
      std::shared_ptr<ClientConnection> c = q.front();
      if (c && c->Queued() && c->queue_deadline_ms() > now) {
        waiting = true;
        break;
      }
      q.pop_front();
      CountDequeued(shared_.queued, 1);
      if (c && c->Queued()) c->ShedFromQueue(true);
    }
    waiting = waiting || !q.empty();
  }
  if (waiting && !queue_timer_armed_) {
    queue_timer_armed_ = true;
    queue_timer_.expires_after(std::chrono::milliseconds(5));
    queue_timer_.async_wait([this](std::error_code ec) {
      queue_timer_armed_ = false;
      if (!ec) CheckQueueDeadlines();
    });
  }
}

namespace {

bool OutOfResources(const std::error_code& ec) {
  if (ec.category() != asio::error::get_system_category()) return false;
  int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

// Over max_connections (or draining): a canned 503 with Retry-After instead
// of a silent close, which clients retry at once or wait out. One
// non-blocking send and no state kept, so a crowd is turned away as cheaply
// as before. The request already sent is read first so that the close
// sends a FIN after the answer; a request that arrives later gets a RST,
// and the 503 already received stays readable.
void RejectOverCapacity(asio::ip::tcp::socket& socket) {
  static const std::string kBusy = http::BuildResponse(
      503, "application/json", http::JsonErrorBody("over capacity: too many connections"),
      /*keep_alive=*/false, {{"Retry-After", "1"}});
  int fd = socket.native_handle();
  char discard[4096];
  (void)::recv(fd, discard, sizeof(discard), MSG_DONTWAIT);
  (void)::send(fd, kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::error_code ignored;
  socket.close(ignored);
}

}  // namespace

void Worker::Accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
    if (!accepting_) return;
    if (!ec) {
      if (accept_backoff_ms_ != 0) {
        LogInfo("lb", "accepting again after {} failed accepts", accept_failures_);
        accept_backoff_ms_ = 0;
        accept_failures_ = 0;
      }
      const LbRuntime& rt = runtime();
      if (shared_.connections.load(std::memory_order_relaxed) >= rt.config.max_connections ||
          shared_.draining.load(std::memory_order_relaxed)) {
        shared_.metrics.connections_rejected->Add();
        RejectOverCapacity(socket);
      } else {
        shared_.metrics.connections_accepted->Add();
        std::make_shared<ClientConnection>(*this, std::move(socket))->Start();
      }
    } else if (ec == asio::error::operation_aborted) {
      return;
    } else if (OutOfResources(ec)) {
      return PauseAccepting(ec);
    } else {
      // A connection that failed before it was accepted (ECONNABORTED):
      // only that connection is lost.
      LogDebug("lb", "accept failed: {}", ec.message());
    }
    Accept();
  });
}

bool Worker::AdmitConnection() {
  const LbRuntime& rt = runtime();
  if (shared_.connections.load(std::memory_order_relaxed) >= rt.config.max_connections ||
      shared_.draining.load(std::memory_order_relaxed)) {
    shared_.metrics.connections_rejected->Add();
    return false;
  }
  shared_.metrics.connections_accepted->Add();
  return true;
}

// The HTTP/2 listener: the same admission, a different front end. Failed
// accepts are retried after a short pause (the HTTP/1.1 loop logs them).
void Worker::AcceptH2() {
  h2_acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
    if (!accepting_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (AdmitConnection()) {
        std::make_shared<H2Connection>(*this, MakeTcpByteStream(std::move(socket)), "http")
            ->Start();
      } else {
        std::error_code ignored;
        socket.close(ignored);
      }
    } else if (OutOfResources(ec)) {
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      timer->async_wait([this, timer](std::error_code) {
        if (accepting_) AcceptH2();
      });
      return;
    }
    AcceptH2();
  });
}

void Worker::PauseAccepting(const std::error_code& ec) {
  shared_.metrics.accept_errors->Add();
  ++accept_failures_;
  if (accept_backoff_ms_ == 0) {
    accept_backoff_ms_ = 10;
    LogWarn("lb", "accept failed: {}; pausing accepts (logged once until one succeeds)",
            ec.message());
  } else {
    accept_backoff_ms_ = std::min(accept_backoff_ms_ * 2, 1000);
  }
  accept_timer_.expires_after(std::chrono::milliseconds(accept_backoff_ms_));
  accept_timer_.async_wait([this](std::error_code timer_ec) {
    if (!timer_ec && accepting_) Accept();
  });
}

void Worker::Sweep() {
  int64_t now = RefreshNow();
  std::vector<std::shared_ptr<ClientConnection>> expired;
  bool draining = shared_.draining.load(std::memory_order_relaxed);
  for (ClientConnection* c : connections_) {
    if (now >= c->deadline_ms() || (draining && c->Idle())) {
      expired.push_back(c->shared_from_this());
    } else {
      c->WatchClient();
    }
  }
  for (auto& c : expired) c->OnDeadline();
  std::vector<std::shared_ptr<H2Connection>> h2;
  h2.reserve(h2_connections_.size());
  for (H2Connection* c : h2_connections_) h2.push_back(c->shared_from_this());
  for (auto& c : h2) c->OnSweep(now);
  backends_.Sweep(now, runtime().config.timeouts.pool_idle_ms);
  sweep_timer_.expires_after(std::chrono::milliseconds(100));
  sweep_timer_.async_wait([this](std::error_code ec) {
    if (!ec) Sweep();
  });
}

}  // namespace nines::lb
