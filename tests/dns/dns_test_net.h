// Test-side networking for the DNS integration tests: a blocking UDP/TCP DNS
// client built on the wire library, tiny HTTP health endpoints that answer
// 200 until stopped, and free-port discovery on a chosen loopback address.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dns/message.h"

namespace nines::dns::testing {

// A UDP and TCP port free on `host` right now (both protocols).
uint16_t FreePort(const std::string& host);

class DnsClient {
 public:
  // Sends from `source_host` (bound) to server_host:port.
  DnsClient(const std::string& source_host, const std::string& server_host, uint16_t port);
  ~DnsClient();
  DnsClient(const DnsClient&) = delete;
  DnsClient& operator=(const DnsClient&) = delete;

  // One datagram out, the reply with the same id back (or nullopt on timeout).
  std::optional<std::vector<uint8_t>> ExchangeUdp(const std::vector<uint8_t>& packet,
                                                  int timeout_ms);
  std::optional<Message> QueryUdp(const std::vector<uint8_t>& packet, int timeout_ms = 1000);
  // Datagrams that arrived when none was awaited (late or unexpected replies).
  int stale_replies() const { return stale_; }

 private:
  int fd_ = -1;
  int stale_ = 0;
};

// One TCP connection carrying several length-prefixed queries.
class DnsTcpConnection {
 public:
  DnsTcpConnection(const std::string& server_host, uint16_t port);
  ~DnsTcpConnection();
  bool connected() const { return fd_ >= 0; }
  std::optional<Message> Query(const std::vector<uint8_t>& packet, int timeout_ms = 2000);

 private:
  bool ReadFull(uint8_t* data, size_t n, int timeout_ms);
  int fd_ = -1;
};

// Answers every HTTP request with 200 "ok" on host:port until Stop().
class HealthEndpoint {
 public:
  explicit HealthEndpoint(std::string host);
  ~HealthEndpoint();
  // Listens (on a fresh port the first time, then on the same port again).
  bool Start();
  void Stop();  // closes the listener: checks get "connection refused"
  uint16_t port() const { return port_; }

 private:
  void Serve();
  std::string host_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace nines::dns::testing
