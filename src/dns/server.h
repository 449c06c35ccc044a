// The `nines dns` server: UDP and TCP (2-byte length prefix, several queries
// per connection, idle timeout, bounded connections) on the DNS thread; health
// checks, the admin listener, signals and reloads on the control thread. The
// DNS thread reads an immutable config generation and atomic health flags,
// so answering never waits on a check or a reload.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/signal_set.hpp>

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "dns/admin_http.h"
#include "dns/config.h"
#include "dns/dns_metrics.h"
#include "dns/health_board.h"

namespace nines::dns {

// Command-line values that win over the config file (also on reload).
struct ServerOverrides {
  std::optional<Endpoint> listen;
  std::optional<Endpoint> admin;
};

void ApplyOverrides(const ServerOverrides& overrides, DnsConfig* config);

class DnsServer {
 public:
  DnsServer(std::string config_file, ServerOverrides overrides);
  ~DnsServer();

  // Binds, starts the checks and serves until SIGTERM/SIGINT (or Stop()).
  // Returns the exit status: 0 after a clean stop, 1 when it cannot bind.
  int Run(DnsConfig config);
  void Stop();

 private:
  struct Generation {
    uint64_t number = 0;
    std::shared_ptr<const DnsConfig> config;
    std::shared_ptr<const HealthFlagArray> flags;
    DnsMetrics::RegionSeries series;
  };
  struct TcpConnection;
  // Buffers for one recvmmsg/sendmmsg round.
  static constexpr int kUdpBatch = 32;
  static constexpr size_t kUdpMaxQuery = 4096;  // larger datagrams are dropped
  struct UdpBatch {
    UdpBatch() {
      for (auto& buffer : in) buffer.resize(kUdpMaxQuery);
    }
    std::array<std::vector<uint8_t>, kUdpBatch> in;
    std::array<std::vector<uint8_t>, kUdpBatch> out;
    std::array<sockaddr_storage, kUdpBatch> peers;
    std::array<iovec, kUdpBatch> in_iov;
    std::array<iovec, kUdpBatch> out_iov;
    std::array<mmsghdr, kUdpBatch> in_msgs;
    std::array<mmsghdr, kUdpBatch> out_msgs;
  };

  // DNS thread.
  void WaitUdp();
  void DrainUdp();
  void AcceptTcp();
  void RefreshGeneration();
  // Answers one packet into `out`; false when no answer is due.
  bool Answer(std::span<const uint8_t> packet, const IpAddress& source, Transport transport,
              std::vector<uint8_t>* out);

  // Control thread.
  void WaitSignal();
  void Reload();
  void Publish(std::shared_ptr<const DnsConfig> config);
  AdminReply HandleAdmin(const std::string& method, const std::string& path);
  std::string StatusJson() const;

  std::string config_file_;
  ServerOverrides overrides_;
  MetricsRegistry registry_;
  DnsMetrics metrics_;

  asio::io_context dns_io_;
  asio::io_context control_io_;
  asio::ip::udp::socket udp_;
  asio::ip::tcp::acceptor tcp_acceptor_;
  asio::signal_set signals_;
  AdminHttp admin_;

  // Published by the control thread, picked up by the DNS thread.
  std::mutex generation_mu_;
  std::shared_ptr<const Generation> published_;
  std::atomic<uint64_t> published_number_{0};

  // DNS thread only.
  std::shared_ptr<const Generation> current_;
  std::unique_ptr<UdpBatch> udp_batch_;
  ResponseInfo info_;
  int tcp_open_ = 0;
  int64_t last_fail_open_log_ms_ = 0;

  // Control thread only.
  std::shared_ptr<const DnsConfig> config_;
  std::unique_ptr<HealthBoard> board_;
  Counter* reloads_ok_;
  Counter* reloads_failed_;
};

}  // namespace nines::dns
