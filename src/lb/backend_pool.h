// Idle keep-alive connections to servers, one pool per worker thread (no
// locks). A pooled connection is checked before reuse: too old, server
// removed, or closed by the server means it is dropped.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>
#include <unordered_map>
#include <vector>

#include "lb/server_state.h"

namespace nines::lb {

struct BackendConnection {
  explicit BackendConnection(asio::io_context& io) : socket(io) {}
  asio::ip::tcp::socket socket;
  std::shared_ptr<ServerState> server;
  int64_t idle_since_ms = 0;
  bool reused = false;  // taken from the pool: the server may have closed it meanwhile
};

class BackendPool {
 public:
  // An idle connection to `server`, or null. Each candidate is checked with
  // the kernel first (one non-blocking peek): a connection the server closed,
  // or one with unsolicited bytes waiting, is closed and skipped.
  std::unique_ptr<BackendConnection> Take(const ServerState* server, int64_t now_ms,
                                          int max_idle_ms);
  // Keeps `conn` for reuse (at most max_idle per server; extras are closed).
  void Put(std::unique_ptr<BackendConnection> conn, int64_t now_ms, int max_idle);
  // Closes connections idle too long or to removed servers.
  void Sweep(int64_t now_ms, int max_idle_ms);
  size_t idle_count() const;

 private:
  std::unordered_map<const ServerState*, std::vector<std::unique_ptr<BackendConnection>>> idle_;
};

}  // namespace nines::lb
