// TCP helpers.
#include "net/tcp.h"

#include <sys/socket.h>

#include <fmt/format.h>

#include <system_error>

namespace nines {

asio::ip::tcp::endpoint ToTcp(const Endpoint& e) {
  return asio::ip::tcp::endpoint(asio::ip::make_address_v4(e.host), e.port);
}

asio::ip::udp::endpoint ToUdp(const Endpoint& e) {
  return asio::ip::udp::endpoint(asio::ip::make_address_v4(e.host), e.port);
}

void OpenListener(asio::ip::tcp::acceptor& acceptor, const Endpoint& at, bool reuse_port,
                  int backlog) {
  asio::ip::tcp::endpoint ep = ToTcp(at);
  std::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && reuse_port) {
    int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      ec = std::error_code(errno, std::system_category());
    }
  }
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(backlog, ec);
  if (!ec) acceptor.non_blocking(true, ec);
  if (ec) {
    throw std::system_error(ec, fmt::format("cannot listen on {}", at.ToString()));
  }
}

bool PeerClosed(asio::ip::tcp::socket& socket) {
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;  // orderly close
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  return true;  // unsolicited bytes on an idle connection: not reusable either
}

std::string RemoteAddress(const asio::ip::tcp::socket& socket) {
  std::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "";
  return ep.address().to_string();
}

}  // namespace nines
