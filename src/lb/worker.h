// One load balancer worker: an event loop thread's share of the work. It
// accepts on its own SO_REUSEPORT listener, owns its client connections, its
// pool of idle server connections and its balancing state, and sweeps
// connection deadlines every 100 ms, arming the client-close watch of
// requests still waiting for a server (one timer per worker instead of one
// per connection, and no watch for quick requests, keep the per-request cost
// low).
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <unordered_set>

#include "lb/backend_pool.h"
#include "lb/balancer.h"
#include "lb/lb_shared.h"

namespace nines::lb {

class ClientConnection;
class H2Connection;
class TlsListener;

class Worker {
 public:
  Worker(asio::io_context& io, int index, LbShared& shared);
  ~Worker();

  // Binds the listener, and the [tls] one if configured (throws
  // std::system_error), and starts accepting.
  void Start(const Endpoint& listen);
  // Also serves cleartext HTTP/2 with prior knowledge on `listen`.
  void StartH2(const Endpoint& listen);
  // Stops accepting; existing connections finish (called on the loop).
  void StopAccepting();
  // Closes every connection at once (called on the loop).
  void CloseAll();

  asio::io_context& io() { return io_; }
  LbShared& shared() { return shared_; }
  // The current runtime, refreshed when a reload published a new one.
  const LbRuntime& runtime();
  std::shared_ptr<const LbRuntime> runtime_ref();
  PickState& pick_state() { return pick_; }
  BackendPool& backends() { return backends_; }
  // Steady-clock milliseconds, updated by the sweep and on each request.
  int64_t now_ms() const { return now_ms_; }
  int64_t RefreshNow();

  // The overload queue: requests waiting for a server slot (max_conn).
  // Requests of connections that already had a good response wait apart and
  // go first; when the queue is full they displace the newest request of a
  // new connection. False: the request must be shed (503).
  bool Enqueue(const std::shared_ptr<ClientConnection>& c, bool established, bool front);
  // Hands freed server slots to queued requests (on the loop).
  void DrainQueue();
  // Thread-safe: schedules DrainQueue on this worker's loop once.
  void RequestDrain();

  void Register(ClientConnection* c) { connections_.insert(c); }
  void Unregister(ClientConnection* c) { connections_.erase(c); }
  size_t connection_count() const { return connections_.size() + h2_connections_.size(); }
  void RegisterH2(H2Connection* c) { h2_connections_.insert(c); }
  void UnregisterH2(H2Connection* c) { h2_connections_.erase(c); }

 private:
  void Accept();
  void AcceptH2();
  // False: the connection must be refused (max_connections, draining).
  bool AdmitConnection();
  // Out of descriptors or memory: accepting again at once would fail at
  // once, so wait (10 ms doubling to 1 s) and log once per burst.
  void PauseAccepting(const std::error_code& ec);
  void Sweep();
  void CheckQueueDeadlines();
  std::shared_ptr<ClientConnection> PopQueued();

  asio::io_context& io_;
  LbShared& shared_;
  asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<TlsListener> tls_listener_;  // null: no [tls]
  asio::steady_timer sweep_timer_;
  PickState pick_;
  BackendPool backends_;
  std::shared_ptr<const LbRuntime> runtime_;
  uint64_t runtime_generation_ = ~0ull;
  int64_t now_ms_ = 0;
  bool accepting_ = false;
  asio::steady_timer accept_timer_;
  int accept_backoff_ms_ = 0;     // 0: not in a burst of failed accepts
  uint64_t accept_failures_ = 0;  // in the current burst
  std::unordered_set<ClientConnection*> connections_;
  asio::ip::tcp::acceptor h2_acceptor_;
  std::unordered_set<H2Connection*> h2_connections_;
  std::deque<std::shared_ptr<ClientConnection>> queue_[2];  // [0] established, [1] new
  asio::steady_timer queue_timer_;
  bool queue_timer_armed_ = false;
  std::atomic<bool> drain_posted_{false};
};

}  // namespace nines::lb
