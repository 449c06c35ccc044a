// A deliberately small HTTP/1.1 listener for the DNS admin endpoints
// (GET /status, GET /metrics): one request per connection, headers capped at
// 8 KiB, a 5 s deadline, a bounded number of connections, no bodies.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

#include "base/config.h"

namespace nines::dns {

struct AdminReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminHttp {
 public:
  // `handler(method, path)` builds the reply on the io_context's thread.
  using Handler = std::function<AdminReply(const std::string& method, const std::string& path)>;

  AdminHttp(asio::io_context& io, Handler handler);
  // Binds and listens; returns an error message or "".
  std::string Listen(const Endpoint& at);
  void Close();

 private:
  struct Connection;
  void Accept();

  asio::io_context& io_;
  Handler handler_;
  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<int> open_connections_;
};

}  // namespace nines::dns
