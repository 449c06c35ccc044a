// Share exchange over UDP.
#include "ratelimit/cluster.h"

#include <fmt/format.h>

#include <charconv>

#include "base/clock.h"
#include "base/log.h"
#include "base/secret.h"
#include "net/tcp.h"

namespace nines::ratelimit {

namespace {

// "<id> <seq> <demand>" (after the "NRLn " prefix).
bool ParseReportFields(std::string_view d, std::string* id, uint64_t* seq, double* demand) {
  size_t s1 = d.find(' ');
  if (s1 == std::string_view::npos || s1 == 0 || s1 > 128) return false;
  *id = std::string(d.substr(0, s1));
  for (char c : *id) {
    if (c <= ' ' || c > '~') return false;
  }
  d.remove_prefix(s1 + 1);
  size_t s2 = d.find(' ');
  if (s2 == std::string_view::npos) return false;
  auto [p1, e1] = std::from_chars(d.data(), d.data() + s2, *seq);
  if (e1 != std::errc() || p1 != d.data() + s2) return false;
  d.remove_prefix(s2 + 1);
  auto [p2, e2] = std::from_chars(d.data(), d.data() + d.size(), *demand);
  if (e2 != std::errc() || p2 != d.data() + d.size()) return false;
  return *demand >= 0 && *demand < 1e12;
}

constexpr size_t kMacHexBytes = 64;  // HMAC-SHA256, hex

}  // namespace

bool ParseShareReport(std::string_view d, std::string* id, uint64_t* seq, double* demand) {
  if (d.empty() || d.back() != '\n' || d.size() > 300) return false;
  d.remove_suffix(1);
  if (d.substr(0, 5) != "NRL1 ") return false;
  return ParseReportFields(d.substr(5), id, seq, demand);
}

std::string SignShareReport(std::string_view key, std::string_view id, uint64_t seq,
                            double demand) {
  std::string content = fmt::format("NRL2 {} {} {:.3f}", id, seq, demand);
  return content + " " + HexEncode(HmacSha256(key, content)) + "\n";
}

ReportCheck ParseSignedShareReport(std::string_view d, std::string_view key, std::string* id,
                                   uint64_t* seq, double* demand) {
  if (d.empty() || d.back() != '\n' || d.size() > 300 + 1 + kMacHexBytes) {
    return ReportCheck::kMalformed;
  }
  d.remove_suffix(1);
  if (d.substr(0, 5) != "NRL2 ") {
    return d.substr(0, 5) == "NRL1 " ? ReportCheck::kUnauthenticated : ReportCheck::kMalformed;
  }
  size_t last = d.rfind(' ');
  if (last < 5) return ReportCheck::kUnauthenticated;  // "NRL2 x": no MAC
  std::string_view content = d.substr(0, last);
  std::string_view mac = d.substr(last + 1);
  if (mac.size() != kMacHexBytes || !SecretEquals(mac, HexEncode(HmacSha256(key, content)))) {
    return ReportCheck::kUnauthenticated;  // no MAC, another key, or content changed
  }
  if (!ParseReportFields(content.substr(5), id, seq, demand)) return ReportCheck::kMalformed;
  return ReportCheck::kOk;
}

RateLimitCluster::RateLimitCluster(asio::io_context& io, ClusterConfig config,
                                   GlobalRateLimiter* limiter, const Clock& clock)
    : io_(io),
      config_(std::move(config)),
      limiter_(limiter),
      clock_(clock),
      socket_(io),
      timer_(io) {
  if (config_.id.empty()) config_.id = config_.bind.ToString();
  // Sequence numbers start at the wall clock in microseconds, so a restarted
  // balancer's reports still go past the ones its peers last took from it
  // (they take only increasing numbers: a replayed report is dropped).
  seq_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  int slots = std::max(1, 1000 / std::max(1, config_.interval_ms));
  window_.assign(static_cast<size_t>(slots), 0);
  for (const Endpoint& p : config_.peers) {
    if (p == config_.bind) continue;
    targets_.push_back(ToUdp(p));
    Peer peer;
    peer.address = p.ToString();
    peers_[peer.address] = peer;
  }
}

RateLimitCluster::~RateLimitCluster() = default;

void RateLimitCluster::Start(Ticks ticks) {
  by_hand_ = ticks == Ticks::kByHand;
  asio::ip::udp::endpoint at = ToUdp(config_.bind);
  socket_.open(at.protocol());
  std::error_code ec;
  socket_.bind(at, ec);
  if (ec) {
    throw std::system_error(ec,
                            fmt::format("cannot bind cluster address {}", config_.bind.ToString()));
  }
  started_ms_ = clock_.NowMillis();
  last_attempts_ = limiter_->attempts();
  Receive();
  Tick();
}

void RateLimitCluster::Stop() {
  stopped_ = true;
  std::error_code ec;
  timer_.cancel();
  socket_.close(ec);
}

double RateLimitCluster::my_demand() const {
  std::lock_guard lock(mu_);
  return my_demand_;
}

std::vector<PeerStatus> RateLimitCluster::peers() const {
  std::lock_guard lock(mu_);
  int64_t now = clock_.NowMillis();
  std::vector<PeerStatus> out;
  for (const auto& [address, p] : peers_) {
    PeerStatus s;
    s.id = p.id;
    s.address = address;
    s.demand = p.demand;
    s.last_seen_age_ms = p.last_seen_ms ? now - p.last_seen_ms : -1;
    s.alive = p.last_seen_ms ? now - p.last_seen_ms <= config_.peer_timeout_ms
                             : now - started_ms_ <= config_.peer_timeout_ms;
    out.push_back(s);
  }
  return out;
}

void RateLimitCluster::Tick() {
  if (stopped_) return;
  int64_t now = clock_.NowMillis();
  uint64_t attempts = limiter_->attempts();
  window_[window_pos_] = attempts - last_attempts_;
  window_pos_ = (window_pos_ + 1) % window_.size();
  last_attempts_ = attempts;
  uint64_t sum = 0;
  for (uint64_t v : window_) sum += v;
  double demand = static_cast<double>(sum) * 1000.0 /
                  static_cast<double>(window_.size() * static_cast<size_t>(config_.interval_ms));

  std::vector<double> demands;
  {
    std::lock_guard lock(mu_);
    my_demand_ = demand;
    for (auto& [address, p] : peers_) {
      if (p.last_seen_ms) {
        if (now - p.last_seen_ms <= config_.peer_timeout_ms) demands.push_back(p.demand);
      } else if (now - started_ms_ <= config_.peer_timeout_ms) {
        // Not heard yet, but may be starting too: assume it sees what we see.
        demands.push_back(demand);
      }
    }
  }
  double share = ComputeShare(limiter_->global_per_second(), demand, demands.data(),
                              static_cast<int>(demands.size()));
  limiter_->SetShare(share);

  std::string datagram = config_.key.empty()
                             ? fmt::format("NRL1 {} {} {:.3f}\n", config_.id, ++seq_, demand)
                             : SignShareReport(config_.key, config_.id, ++seq_, demand);
  for (const auto& target : targets_) {
    std::error_code ec;
    socket_.send_to(asio::buffer(datagram), target, 0, ec);  // loss is tolerated
  }
  if (by_hand_) return;
  timer_.expires_after(std::chrono::milliseconds(config_.interval_ms));
  timer_.async_wait([this](std::error_code ec) {
    if (!ec) Tick();
  });
}

void RateLimitCluster::Receive() {
  socket_.async_receive_from(asio::buffer(buffer_), sender_, [this](std::error_code ec, size_t n) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) OnDatagram(n, sender_);
    Receive();
  });
}

void RateLimitCluster::OnDatagram(size_t n, const asio::ip::udp::endpoint& from) {
  std::string id;
  uint64_t seq;
  double demand;
  std::string_view datagram(buffer_.data(), n);
  if (config_.key.empty()) {
    if (!ParseShareReport(datagram, &id, &seq, &demand)) {
      malformed_.fetch_add(1);
      return;
    }
  } else {
    ReportCheck check = ParseSignedShareReport(datagram, config_.key, &id, &seq, &demand);
    if (check == ReportCheck::kUnauthenticated) {
      unauthenticated_.fetch_add(1);
      return;
    }
    if (check == ReportCheck::kMalformed) {
      malformed_.fetch_add(1);
      return;
    }
  }
  std::string address = fmt::format("{}:{}", from.address().to_string(), from.port());
  std::lock_guard lock(mu_);
  auto it = peers_.find(address);
  if (it == peers_.end()) {
    malformed_.fetch_add(1);  // not a configured peer: ignored
    return;
  }
  if (it->second.last_seq != 0 && seq <= it->second.last_seq) {
    replayed_.fetch_add(1);  // a duplicate, a replay, or reordered behind a newer report
    return;
  }
  it->second.last_seq = seq;
  it->second.id = id;
  it->second.demand = demand;
  it->second.last_seen_ms = clock_.NowMillis();
}

}  // namespace nines::ratelimit
