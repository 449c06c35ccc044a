// A small blocking HTTP/1.1 client for the state poller and the traffic
// spike: one request at a time on a keep-alive connection, every step bounded
// by a timeout, bodies bounded by size (Content-Length only; a chunked or
// unbounded reply is read until close, up to the limit).
#pragma once

#include <string>

#include "base/config.h"

namespace nines::up {

struct FetchResult {
  bool ok = false;
  int status = 0;
  std::string body;
  std::string error;
};

class HttpClient {
 public:
  static constexpr size_t kMaxResponseBytes = 4 << 20;

  // `source` (an IPv4 address, or "") is bound before connecting, so a
  // spike can come from one client address.
  HttpClient(Endpoint to, std::string source, int timeout_ms);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request (reconnecting if needed) and reads the response.
  FetchResult Request(const std::string& method, const std::string& path,
                      const std::string& body = "");
  void Close();

 private:
  bool Connect(std::string* error);

  Endpoint to_;
  std::string source_;
  int timeout_ms_;
  int fd_ = -1;
};

// One request on a fresh connection.
FetchResult HttpFetch(const Endpoint& to, const std::string& method, const std::string& path,
                      int timeout_ms, const std::string& body = "");

// True when a TCP connection to `to` opens within timeout_ms.
bool TcpConnects(const Endpoint& to, int timeout_ms);

}  // namespace nines::up
