// The `nines dns` server: a UDP thread (blocking recvmmsg/sendmmsg batches),
// a TCP thread (Asio: 2-byte length prefix, several queries per connection,
// idle timeout, bounded connections), and a control thread (health checks,
// the admin listener, signals, reloads). The serving threads read an
// immutable config generation and atomic health flags, so answering never
// waits on a check or a reload.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
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
#include "dns/config.h"
#include "dns/dns_metrics.h"
#include "dns/health_board.h"
#include "http/simple_server.h"

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

  // What each serving thread (UDP, TCP) keeps for itself.
  struct Worker {
    std::shared_ptr<const Generation> current;
    ResponseInfo info;
    int64_t last_fail_open_log_ms = 0;
  };

  // Serving threads.
  void UdpLoop();
  void AcceptTcp();
  void RefreshGeneration(Worker& worker);
  // Answers one packet into `out`; false when no answer is due.
  bool Answer(Worker& worker, std::span<const uint8_t> packet, const IpAddress& source,
              Transport transport, std::vector<uint8_t>* out);

  // Control thread.
  void WaitSignal();
  bool Reload();  // false when the file has errors (the old config keeps serving)
  void Publish(const std::shared_ptr<const DnsConfig>& config);
  // GET /status and GET /metrics, on the control thread.
  http::Response HandleAdmin(const http::Request& request);
  std::string StatusJson() const;

  std::string config_file_;
  ServerOverrides overrides_;
  MetricsRegistry registry_;
  DnsMetrics metrics_;

  asio::io_context dns_io_;
  asio::io_context control_io_;
  asio::ip::tcp::acceptor tcp_acceptor_;
  asio::signal_set signals_;
  std::unique_ptr<http::SimpleServer> admin_;  // made in Run, once the address is known

  // Published by the control thread, picked up by the DNS thread.
  std::mutex generation_mu_;
  std::shared_ptr<const Generation> published_;
  std::atomic<uint64_t> published_number_{0};

  // The UDP thread's.
  int udp_fd_ = -1;
  std::unique_ptr<UdpBatch> udp_batch_;
  Worker udp_worker_;
  std::atomic<bool> stopping_{false};
  // The TCP thread's (the one running dns_io_).
  Worker tcp_worker_;
  int tcp_open_ = 0;

  // Control thread only.
  std::shared_ptr<const DnsConfig> config_;
  std::unique_ptr<HealthBoard> board_;
  Counter* reloads_ok_;
  Counter* reloads_failed_;
};

}  // namespace nines::dns
