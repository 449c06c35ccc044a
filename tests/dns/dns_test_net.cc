// POSIX sockets with poll() deadlines; nothing here blocks without a bound.
// Every socket is close-on-exec: the nines processes a test starts must not
// inherit (and keep open) a listener the test later closes.
#include "dns_test_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace nines::dns::testing {
namespace {

sockaddr_in Address(const std::string& host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  return a;
}

bool WaitReadable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

uint16_t FreePort(const std::string& host) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Address(host, 0);
    socklen_t len = sizeof(a);
    if (::bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::getsockname(udp, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(udp);
      continue;
    }
    int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool tcp_free = ::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(tcp);
    ::close(udp);
    if (tcp_free) return ntohs(a.sin_port);
  }
  return 0;
}

DnsClient::DnsClient(const std::string& source_host, const std::string& server_host,
                     uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in source = Address(source_host, 0);
  ::bind(fd_, reinterpret_cast<sockaddr*>(&source), sizeof(source));
  sockaddr_in server = Address(server_host, port);
  ::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof(server));
}

DnsClient::~DnsClient() {
  ::close(fd_);
}

std::optional<std::vector<uint8_t>> DnsClient::ExchangeUdp(const std::vector<uint8_t>& packet,
                                                           int timeout_ms) {
  // Drop stale replies from earlier exchanges.
  uint8_t scratch[65536];
  while (::recv(fd_, scratch, sizeof(scratch), MSG_DONTWAIT) >= 0) ++stale_;
  if (::send(fd_, packet.data(), packet.size(), 0) < 0) return std::nullopt;
  if (timeout_ms <= 0) return std::nullopt;
  int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    int64_t left = deadline - NowMs();
    if (left <= 0 || !WaitReadable(fd_, static_cast<int>(left))) return std::nullopt;
    ssize_t n = ::recv(fd_, scratch, sizeof(scratch), MSG_DONTWAIT);
    if (n < 0) continue;
    if (packet.size() >= 2 && n >= 2 && scratch[0] == packet[0] && scratch[1] == packet[1]) {
      return std::vector<uint8_t>(scratch, scratch + n);
    }
    ++stale_;
  }
}

std::optional<Message> DnsClient::QueryUdp(const std::vector<uint8_t>& packet, int timeout_ms) {
  auto reply = ExchangeUdp(packet, timeout_ms);
  if (!reply) return std::nullopt;
  return DecodeMessage(*reply);
}

DnsTcpConnection::DnsTcpConnection(const std::string& server_host, uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in server = Address(server_host, port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

DnsTcpConnection::~DnsTcpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool DnsTcpConnection::ReadFull(uint8_t* data, size_t n, int timeout_ms) {
  int64_t deadline = NowMs() + timeout_ms;
  size_t got = 0;
  while (got < n) {
    int64_t left = deadline - NowMs();
    if (left <= 0 || !WaitReadable(fd_, static_cast<int>(left))) return false;
    ssize_t r = ::recv(fd_, data + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

std::optional<Message> DnsTcpConnection::Query(const std::vector<uint8_t>& packet, int timeout_ms) {
  if (fd_ < 0) return std::nullopt;
  std::vector<uint8_t> framed = {static_cast<uint8_t>(packet.size() >> 8),
                                 static_cast<uint8_t>(packet.size())};
  framed.insert(framed.end(), packet.begin(), packet.end());
  if (::send(fd_, framed.data(), framed.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(framed.size())) {
    return std::nullopt;
  }
  uint8_t length[2];
  if (!ReadFull(length, 2, timeout_ms)) return std::nullopt;
  std::vector<uint8_t> body((length[0] << 8) | length[1]);
  if (!ReadFull(body.data(), body.size(), timeout_ms)) return std::nullopt;
  return DecodeMessage(body);
}

HealthEndpoint::HealthEndpoint(std::string host) : host_(std::move(host)) {}

HealthEndpoint::~HealthEndpoint() {
  Stop();
}

bool HealthEndpoint::Start() {
  Stop();
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = Address(host_, port_);
  socklen_t len = sizeof(a);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::fprintf(stderr, "health endpoint %s:%d: %s\n", host_.c_str(), port_, std::strerror(errno));
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  port_ = ntohs(a.sin_port);
  stop_ = false;
  thread_ = std::thread([this] { Serve(); });
  return true;
}

void HealthEndpoint::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void HealthEndpoint::Serve() {
  static const char kReply[] =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
  while (!stop_) {
    if (!WaitReadable(listen_fd_, 20)) continue;
    int c = ::accept(listen_fd_, nullptr, nullptr);
    if (c < 0) continue;
    // Read the request head (bounded), answer, close.
    char buf[4096];
    std::string head;
    int64_t deadline = NowMs() + 1000;
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < sizeof(buf) &&
           NowMs() < deadline && WaitReadable(c, 100)) {
      ssize_t n = ::recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    ::send(c, kReply, sizeof(kReply) - 1, MSG_NOSIGNAL);
    ::close(c);
  }
}

}  // namespace nines::dns::testing
