// The one blocking HTTP/1.1 client in nines: control-plane calls from `up`
// and the drill, and every test. Each exchange runs under one poll()
// deadline (connect, send, response); responses are parsed by the project's
// parser and chunked bodies decoded by its ChunkedReader (response_reader.h,
// shared with the Asio client async_client.h). A source address
// can be bound before connecting (to play a client from one address).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/response_reader.h"

namespace nines::http {

struct ClientOptions {
  int timeout_ms = 5000;  // the whole exchange: connect, send, response
  std::string source;     // IPv4 address bound before connecting; "" = any
  std::string host;       // Host header value; "" = "HOST:PORT" of the server
  std::string headers;    // extra header lines, each ending in CRLF
  std::string content_type = "application/json";  // sent with a body or on POST/PUT
  size_t max_response_bytes = 16 << 20;           // larger: error "response too large"

  // Chainable setters: http::Get(h, p, "/x", ClientOptions().Timeout(500)).
  ClientOptions& Timeout(int ms) {
    timeout_ms = ms;
    return *this;
  }
  ClientOptions& Source(std::string ip) {
    source = std::move(ip);
    return *this;
  }
  ClientOptions& Host(std::string value) {
    host = std::move(value);
    return *this;
  }
  ClientOptions& Headers(std::string lines) {
    headers = std::move(lines);
    return *this;
  }
  ClientOptions& ContentType(std::string value) {
    content_type = std::move(value);
    return *this;
  }
  ClientOptions& MaxResponseBytes(size_t n) {
    max_response_bytes = n;
    return *this;
  }
};

// One connection, for keep-alive and pipelined exchanges, or raw bytes. The
// socket stays in blocking mode (tests may use fd() directly); the client
// itself never blocks past its deadline.
class ClientConnection {
 public:
  ClientConnection() = default;
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Connects (closing any previous connection). On failure error() says why.
  bool Connect(const std::string& host, int port, int timeout_ms = 3000,
               const std::string& source = "");
  // Sends all of `bytes` within the timeout.
  bool Send(std::string_view bytes, int timeout_ms = 5000);
  // Reads one response to a request made with `method` (1xx interim
  // responses are skipped). Bytes past it stay buffered for the next Read.
  ClientResponse Read(std::string_view method = "GET", int timeout_ms = 5000,
                      size_t max_bytes = 16 << 20);
  // Sends one request built from the options and reads its response,
  // connecting first if needed. A reused connection the server had closed
  // is reopened once.
  ClientResponse Request(const std::string& host, int port, std::string_view method,
                         std::string_view path, std::string_view body = "",
                         const ClientOptions& options = {});
  // Reads whatever arrives until the peer closes or the timeout passes.
  std::string ReadUntilClose(int timeout_ms, bool* closed);
  void Close();

  int fd() const { return fd_; }
  bool connected() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  std::string buffer_;
  std::string error_;
  bool timed_out_ = false;  // the last Connect or Send ran out of time
};

// The request bytes Get/Post/Fetch send.
std::string BuildRequest(std::string_view method, std::string_view host_header,
                         std::string_view path, std::string_view body,
                         const ClientOptions& options);

// One request on a fresh connection.
ClientResponse Fetch(const std::string& host, int port, std::string_view method,
                     std::string_view path, std::string_view body = "",
                     const ClientOptions& options = {});
ClientResponse Get(const std::string& host, int port, std::string_view path,
                   const ClientOptions& options = {});
ClientResponse Post(const std::string& host, int port, std::string_view path, std::string_view body,
                    const ClientOptions& options = {});
// The same for an address "A.B.C.D:PORT", the form configs and /api/state use.
ClientResponse FetchAddress(std::string_view address, std::string_view method,
                            std::string_view path, std::string_view body = "",
                            const ClientOptions& options = {});
// Sends `raw` as is on a fresh connection and reads one response.
ClientResponse Exchange(const std::string& host, int port, std::string_view raw,
                        std::string_view method = "GET", int timeout_ms = 5000);

// True when a TCP connection to host:port opens within timeout_ms.
bool TcpConnects(const std::string& host, int port, int timeout_ms);

}  // namespace nines::http
