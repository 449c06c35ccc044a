// Small TCP helpers shared by every server and client in nines.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include <string>

#include "base/config.h"

namespace nines {

asio::ip::tcp::endpoint ToTcp(const Endpoint& e);
asio::ip::udp::endpoint ToUdp(const Endpoint& e);

// Opens, configures and binds a listening acceptor. With reuse_port several
// acceptors (one per loop) share the address and the kernel spreads
// connections over them. Throws std::system_error with the address named.
void OpenListener(asio::ip::tcp::acceptor& acceptor, const Endpoint& at, bool reuse_port,
                  int backlog = 1024);

// True if the peer has closed (or reset) an idle connection: a non-blocking
// peek that finds EOF or an error. Used before reusing a pooled connection.
bool PeerClosed(asio::ip::tcp::socket& socket);

// "a.b.c.d" of the remote end, or "" if unknown.
std::string RemoteAddress(const asio::ip::tcp::socket& socket);

}  // namespace nines
