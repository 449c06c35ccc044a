// The admin listener: read the request head, answer, close.
#include "dns/admin_http.h"

#include <fmt/format.h>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

namespace nines::dns {
namespace {

constexpr size_t kMaxHeaderBytes = 8192;
constexpr int kDeadlineMs = 5000;
constexpr int kMaxConnections = 32;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    default:
      return "Error";
  }
}

}  // namespace

struct AdminHttp::Connection : std::enable_shared_from_this<Connection> {
  Connection(asio::io_context& io, std::shared_ptr<int> open)
      : socket(io), timer(io), buffer(kMaxHeaderBytes), open(std::move(open)) {
    ++*this->open;
  }
  ~Connection() { --*open; }
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  asio::streambuf buffer;
  std::string reply;
  std::shared_ptr<int> open;
};

AdminHttp::AdminHttp(asio::io_context& io, Handler handler)
    : io_(io),
      handler_(std::move(handler)),
      acceptor_(io),
      open_connections_(std::make_shared<int>(0)) {}

std::string AdminHttp::Listen(const Endpoint& at) {
  asio::error_code ec;
  asio::ip::tcp::endpoint ep(asio::ip::make_address(at.host, ec), at.port);
  if (ec) return fmt::format("bad admin address {}: {}", at.ToString(), ec.message());
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fmt::format("cannot listen on admin address {}: {}", at.ToString(), ec.message());
  Accept();
  return "";
}

void AdminHttp::Close() {
  asio::error_code ignored;
  acceptor_.close(ignored);
}

void AdminHttp::Accept() {
  auto conn = std::make_shared<Connection>(io_, open_connections_);
  acceptor_.async_accept(conn->socket, [this, conn](const asio::error_code& ec) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    Accept();
    if (ec || *open_connections_ > kMaxConnections) return;  // over the cap: close at once
    conn->timer.expires_after(std::chrono::milliseconds(kDeadlineMs));
    conn->timer.async_wait([conn](const asio::error_code& timer_ec) {
      if (!timer_ec) {
        asio::error_code ignored;
        conn->socket.close(ignored);
      }
    });
    asio::async_read_until(
        conn->socket, conn->buffer, "\r\n\r\n",
        [this, conn](const asio::error_code& read_ec, size_t) {
          AdminReply reply;
          if (read_ec) {
            if (read_ec != asio::error::not_found) return;  // closed or timed out
            reply = {400, "text/plain; charset=utf-8", "request head too large\n"};
          } else {
            std::string head(asio::buffers_begin(conn->buffer.data()),
                             asio::buffers_end(conn->buffer.data()));
            std::string line = head.substr(0, head.find("\r\n"));
            size_t sp1 = line.find(' ');
            size_t sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
            if (sp1 == std::string::npos || sp2 == std::string::npos ||
                line.compare(sp2 + 1, 5, "HTTP/") != 0) {
              reply = {400, "text/plain; charset=utf-8", "bad request line\n"};
            } else {
              std::string method = line.substr(0, sp1);
              std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
              size_t query = path.find('?');
              if (query != std::string::npos) path.resize(query);
              reply = handler_(method, path);
            }
          }
          conn->reply = fmt::format(
              "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
              "Connection: close\r\n\r\n{}",
              reply.status, Reason(reply.status), reply.content_type, reply.body.size(),
              reply.body);
          asio::async_write(conn->socket, asio::buffer(conn->reply),
                            [conn](const asio::error_code&, size_t) {
                              asio::error_code ignored;
                              conn->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                              conn->socket.close(ignored);
                              conn->timer.cancel();
                            });
        });
  });
}

}  // namespace nines::dns
