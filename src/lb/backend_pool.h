// Idle keep-alive connections to servers, one pool per worker thread (no
// locks). An idle connection is watched: a read is pending on it, so data or
// a close from the server marks it dead at once, and the next response is
// read by that same pending read (no check before reuse, and no read that
// finds nothing after the request). A connection put back unwatched is
// checked with the kernel (one peek) before reuse.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>
#include <unordered_map>
#include <vector>

#include "lb/server_state.h"

namespace nines {

class ClientConnection;

struct BackendConnection {
  explicit BackendConnection(asio::io_context& io) : socket(io) {}
  asio::ip::tcp::socket socket;
  std::shared_ptr<ServerState> server;
  int64_t idle_since_ms = 0;
  bool reused = false;  // taken from the pool: the server may have closed it meanwhile

  // The watch (see ClientConnection::WatchIdleBackend): a read into `buffer`
  // is pending. Its completion goes to `owner` if a client took the
  // connection meanwhile (and is still on attempt `owner_attempt`), else it
  // marks the idle connection dead: a server sends nothing unasked. The
  // owner is held until then (its own pending operation), or until it drops
  // the connection.
  bool watching = false;
  bool dead = false;
  std::vector<char> buffer;
  std::shared_ptr<ClientConnection> owner;
  uint64_t owner_attempt = 0;
};

class BackendPool {
 public:
  // An idle connection to `server`, or null. Dead ones are closed and
  // skipped; one not watched is checked with the kernel first (one
  // non-blocking peek): if the server closed it, or unsolicited bytes wait
  // on it, it is closed and skipped.
  std::shared_ptr<BackendConnection> Take(const ServerState* server, int64_t now_ms,
                                          int max_idle_ms);
  // Keeps `conn` for reuse (at most max_idle per server; extras are closed).
  void Put(std::shared_ptr<BackendConnection> conn, int64_t now_ms, int max_idle);
  // Closes connections idle too long or to removed servers.
  void Sweep(int64_t now_ms, int max_idle_ms);
  size_t idle_count() const;

 private:
  std::unordered_map<const ServerState*, std::vector<std::shared_ptr<BackendConnection>>> idle_;
};

}  // namespace nines
