// One global limit across active-active balancers, without an external
// service: each balancer sends its recent demand (requests per second seen
// by its global limiter) to its peers over UDP a few times a second, and
// enforces the share of the global rate that ComputeShare gives it. A peer
// not heard from for peer_timeout_ms is dropped and the survivors take its
// share at their next tick.
//
// Datagram (text, one line): "NRL1 <id> <seq> <demand-per-second>\n", or
// with a key ([cluster] key_file) "NRL2 <id> <seq> <demand> <mac>\n" where mac
// is the hex HMAC-SHA256 under the key of everything before its space. Only
// reports with a sequence number above the last one taken from that peer are
// taken (against replay); refusals are counted.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/config.h"
#include "ratelimit/global_limiter.h"

namespace nines::ratelimit {

struct ClusterConfig {
  std::string id;               // defaults to the bind address
  Endpoint bind;                // UDP address this balancer listens on
  std::vector<Endpoint> peers;  // the others (this balancer's own address is skipped)
  int interval_ms = 100;
  int peer_timeout_ms = 1000;
  // The shared key ([cluster] key_file): reports carry an HMAC-SHA256 under it.
  std::string key;
};

struct PeerStatus {
  std::string id;
  std::string address;
  bool alive = false;
  double demand = 0;
  int64_t last_seen_age_ms = -1;  // -1: never heard
};

// Parses one NRL1 datagram. False if malformed.
bool ParseShareReport(std::string_view datagram, std::string* id, uint64_t* seq, double* demand);

// An NRL2 datagram signed with key.
std::string SignShareReport(std::string_view key, std::string_view id, uint64_t seq, double demand);
enum class ReportCheck { kOk, kUnauthenticated, kMalformed };
// Checks the MAC of an NRL2 datagram under key, then parses it. An NRL1
// datagram, or one without the right MAC, is kUnauthenticated.
ReportCheck ParseSignedShareReport(std::string_view datagram, std::string_view key, std::string* id,
                                   uint64_t* seq, double* demand);

class RateLimitCluster {
 public:
  // `clock` times peer reports (a ManualClock in tests).
  RateLimitCluster(asio::io_context& io, ClusterConfig config, GlobalRateLimiter* limiter,
                   const Clock& clock = SteadyClock::Instance());
  ~RateLimitCluster();

  // Binds, then ticks every interval_ms on a timer (kTimer), or only when
  // the caller calls Tick() (kByHand: tests that drive a ManualClock).
  // Throws std::system_error if the bind address is taken.
  enum class Ticks { kTimer, kByHand };
  void Start(Ticks ticks = Ticks::kTimer);
  void Stop();
  // One round: this balancer's demand over the last second (interval_ms per
  // tick), its share from the live peers' demands, and a report to the peers.
  void Tick();

  // Points the exchange at a new limiter (a reload changed the global rate).
  void SetLimiter(GlobalRateLimiter* limiter) {
    limiter_ = limiter;
    last_attempts_ = limiter->attempts();
  }
  double my_demand() const;
  std::vector<PeerStatus> peers() const;
  uint64_t malformed() const { return malformed_.load(); }
  uint64_t unauthenticated() const { return unauthenticated_.load(); }
  uint64_t replayed() const { return replayed_.load(); }
  const ClusterConfig& config() const { return config_; }

 private:
  struct Peer {
    std::string id;
    std::string address;
    double demand = 0;
    int64_t last_seen_ms = 0;  // steady ms; 0 = never
    uint64_t last_seq = 0;     // of the last report taken; 0 = none
  };
  void Receive();
  void OnDatagram(size_t n, const asio::ip::udp::endpoint& from);

  asio::io_context& io_;
  ClusterConfig config_;
  GlobalRateLimiter* limiter_;
  const Clock& clock_;
  asio::ip::udp::socket socket_;
  asio::steady_timer timer_;
  std::vector<asio::ip::udp::endpoint> targets_;
  std::array<char, 512> buffer_{};
  asio::ip::udp::endpoint sender_;
  int64_t started_ms_ = 0;
  uint64_t seq_ = 0;
  // Demand over the last second: attempts per tick in a ring.
  std::vector<uint64_t> window_;
  size_t window_pos_ = 0;
  uint64_t last_attempts_ = 0;
  mutable std::mutex mu_;
  double my_demand_ = 0;
  std::map<std::string, Peer> peers_;  // by address
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> unauthenticated_{0};
  std::atomic<uint64_t> replayed_{0};
  bool stopped_ = false;
  bool by_hand_ = false;
};

}  // namespace nines::ratelimit
