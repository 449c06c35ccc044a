// The parts of talking to a server that the HTTP/1.1 front end
// (ClientConnection) and the HTTP/2 one (H2Stream) share: opening a new
// connection to the picked server, reading its response head past the
// interim 1xx responses, and giving its slot back. Servers are always spoken to in HTTP/1.1.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "http/parser.h"
#include "lb/backend_pool.h"
#include "lb/lb_shared.h"
#include "lb/server_state.h"

namespace nines::lb {

// A new connection to `server` for one attempt, with TCP_NODELAY set, its
// connect started. `on_connected(std::error_code)` gets the result; it must
// check that the attempt is still current before using the connection.
template <class Handler>
std::unique_ptr<BackendConnection> ConnectToServer(asio::io_context& io,
                                                   std::shared_ptr<ServerState> server,
                                                   Handler&& on_connected) {
  auto backend = std::make_unique<BackendConnection>(io);
  backend->server = std::move(server);
  const asio::ip::tcp::endpoint& endpoint = backend->server->tcp_endpoint;
  // Set before the connect: a socket that cannot be opened here fails in
  // async_connect, which reports it to the handler.
  std::error_code ignored;
  backend->socket.open(endpoint.protocol(), ignored);
  backend->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  backend->socket.async_connect(endpoint, std::forward<Handler>(on_connected));
  return backend;
}

// Gives back the slot AcquireServer took on `server` (and forgets the
// server); requests waiting for a slot, on any worker, may then go. Nothing
// if `server` is null.
void ReleaseServerSlot(LbShared& shared, std::shared_ptr<ServerState>& server);

// Parses the server's response head from the first `*used` bytes of
// `buffer` into `response`, dropping interim 1xx responses (the balancer
// answered 100-continue itself). A 101 is an error: no upgrade was asked for.
http::ParseStatus ParseServerResponseHead(std::vector<char>& buffer, size_t* used,
                                          bool head_request, http::ResponseHead* response);

}  // namespace nines::lb
