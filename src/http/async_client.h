// The one asynchronous HTTP/1.1 client in nines, on Asio coroutines: the
// drill's load engine and the health checker. A connection connects within a
// deadline (optionally from a bound source address: the drill plays users
// from many 127.x addresses), then runs exchanges: send a request, read its
// response with the shared ResponseReader (the project's parser and
// ChunkedReader), all before the exchange's deadline. A connection the last
// response left clean can be kept for the next request (keep-alive).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "http/response_reader.h"

namespace nines::http {

using AsyncDeadline = std::chrono::steady_clock::time_point;

struct ExchangeOptions {
  AsyncDeadline deadline;                // for the whole exchange (and a connect on the way)
  std::string_view method = "GET";       // the request's: HEAD responses have no body
  size_t max_response_bytes = 16 << 20;  // larger: error "response too large"
  bool head_only = false;  // done at the final head, body unread (the connection is closed)
};

enum class ConnectStatus {
  kConnected,
  kSetupFailed,  // bad source address or bind failed: trying again will not help
  kFailed,       // refused, unreachable, reset
  kTimedOut,
};

class AsyncConnection {
 public:
  explicit AsyncConnection(const asio::any_io_executor& executor);
  ~AsyncConnection();
  AsyncConnection(AsyncConnection&&) noexcept;
  AsyncConnection& operator=(AsyncConnection&&) noexcept;

  // Opens a socket, binds `source` ("" = any; SO_REUSEADDR so many users'
  // ephemeral ports recycle), connects before `deadline`. Closes any
  // previous connection first. On failure error() says why.
  asio::awaitable<ConnectStatus> Connect(asio::ip::tcp::endpoint to, AsyncDeadline deadline,
                                         std::string source = "");
  // Sends `request` (complete bytes; the caller keeps them alive until this
  // completes) and reads one response. On any failure the connection is
  // closed; so it is when the response leaves it unusable (Connection:
  // close, a body until close, stray bytes after it).
  asio::awaitable<ClientResponse> Exchange(std::string_view request, ExchangeOptions options);

  bool is_open() const;
  void Close() noexcept;
  const std::string& error() const { return error_; }

 private:
  struct State;
  void Arm(AsyncDeadline deadline);  // the watchdog closes the socket at the deadline
  void Disarm() noexcept;

  std::shared_ptr<State> state_;  // shared with the watchdog's handler
  std::string buffer_;            // bytes read past the last response
  std::string error_;
};

// One exchange on a fresh connection: connect (from `source`), send, read,
// all before options.deadline. A connect failure comes back as a response
// with ok false, its error and timed_out.
asio::awaitable<ClientResponse> AsyncFetch(asio::any_io_executor executor,
                                           asio::ip::tcp::endpoint to, std::string request,
                                           ExchangeOptions options, std::string source = "");

}  // namespace nines::http
