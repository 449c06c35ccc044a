// The DNS thread's UDP and TCP loops, and the control thread's signals,
// reloads and admin endpoints.
#include "dns/server.h"

#include <fmt/format.h>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "base/clock.h"
#include "base/coding.h"
#include "base/log.h"
#include "base/status.h"
#include "dns/dns_constants.h"
#include "dns/name.h"
#include "http/admin_guard.h"
#include "http/admin_token.h"

namespace nines::dns {
namespace {

constexpr int kUdpWaitLimitUs = 200'000;  // the UDP thread notices a stop within this
constexpr int64_t kFailOpenLogIntervalMs = 5000;

IpAddress ToIpAddress(const asio::ip::address& address) {
  IpAddress out;
  if (address.is_v4()) {
    auto bytes = address.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    out.family = 4;
  } else {
    asio::ip::address_v6 v6 = address.to_v6();
    if (v6.is_v4_mapped()) return ToIpAddress(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    auto bytes = v6.to_bytes();
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    out.family = 6;
  }
  return out;
}

bool FromSockaddr(const sockaddr_storage& peer, IpAddress* out) {
  if (peer.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
    out->family = 4;
    std::memcpy(out->bytes.data(), &in->sin_addr, 4);
    return true;
  }
  if (peer.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &in6->sin6_addr, 16);
    *out = ToIpAddress(asio::ip::address_v6(bytes));
    return true;
  }
  return false;
}

// A bound UDP socket with a receive timeout (so the UDP thread can notice a
// stop). IoError with strerror's text when it cannot.
Status OpenUdpSocket(const asio::ip::address& host, uint16_t port, int* fd_out) {
  asio::ip::udp::endpoint at(host, port);
  int fd = ::socket(at.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::strerror(errno));
  timeval wait_limit{0, kUdpWaitLimitUs};
  if (::bind(fd, at.data(), static_cast<socklen_t>(at.size())) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait_limit, sizeof(wait_limit)) != 0) {
    std::string error = std::strerror(errno);
    ::close(fd);
    return Status::IoError(std::move(error));
  }
  *fd_out = fd;
  return Status::Ok();
}

}  // namespace

void ApplyOverrides(const ServerOverrides& overrides, DnsConfig* config) {
  if (overrides.listen) config->listen = *overrides.listen;
  if (overrides.admin) config->admin = *overrides.admin;
}

// One TCP client: length-prefixed queries answered in order until the
// client closes or stays idle too long.
struct DnsServer::TcpConnection : std::enable_shared_from_this<TcpConnection> {
  TcpConnection(DnsServer* owner, asio::ip::tcp::socket accepted, int idle_ms)
      : server(owner), socket(std::move(accepted)), idle(owner->dns_io_), idle_timeout_ms(idle_ms) {
    ++server->tcp_open_;
    server->metrics_.tcp_connections()->Add(1);
  }
  ~TcpConnection() {
    --server->tcp_open_;
    server->metrics_.tcp_connections()->Add(-1);
  }

  void Start() {
    asio::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;
    peer = ToIpAddress(remote.address());
    ReadLength();
  }

  void ArmIdleTimer() {
    idle.expires_after(std::chrono::milliseconds(idle_timeout_ms));
    idle.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->Close();
    });
  }

  void ReadLength() {
    ArmIdleTimer();
    asio::async_read(socket, asio::buffer(length),
                     [self = shared_from_this()](const asio::error_code& ec, size_t) {
                       if (ec) return self->Close();
                       self->ReadBody(DecodeBigEndian16(self->length.data()));
                     });
  }

  void ReadBody(size_t size) {
    in.resize(size);
    asio::async_read(socket, asio::buffer(in),
                     [self = shared_from_this()](const asio::error_code& ec, size_t) {
                       if (ec) return self->Close();
                       self->Respond();
                     });
  }

  void Respond() {
    DnsServer::Worker& worker = server->tcp_worker_;
    server->RefreshGeneration(worker);
    out.resize(2);
    std::vector<uint8_t> message;
    if (!server->Answer(worker, in, peer, Transport::kTcp, &message)) return Close();
    EncodeBigEndian16(out.data(), static_cast<uint16_t>(message.size()));
    out.insert(out.end(), message.begin(), message.end());
    asio::async_write(socket, asio::buffer(out),
                      [self = shared_from_this()](const asio::error_code& ec, size_t) {
                        if (ec) return self->Close();
                        self->ReadLength();
                      });
  }

  void Close() {
    asio::error_code ignored;
    idle.cancel();
    socket.close(ignored);
  }

  DnsServer* server;
  asio::ip::tcp::socket socket;
  asio::steady_timer idle;
  int idle_timeout_ms;
  IpAddress peer;
  std::array<uint8_t, 2> length{};
  std::vector<uint8_t> in;
  std::vector<uint8_t> out;
};

DnsServer::DnsServer(std::string config_file, ServerOverrides overrides)
    : config_file_(std::move(config_file)),
      overrides_(std::move(overrides)),
      metrics_(&registry_),
      tcp_acceptor_(dns_io_),
      signals_(control_io_, SIGINT, SIGTERM, SIGHUP),
      udp_batch_(std::make_unique<UdpBatch>()) {
  reloads_ok_ = registry_.GetCounter("nines_dns_reloads_total", "Config reloads (SIGHUP)",
                                     {{"result", "ok"}});
  reloads_failed_ = registry_.GetCounter("nines_dns_reloads_total", "Config reloads (SIGHUP)",
                                         {{"result", "rejected"}});
}

DnsServer::~DnsServer() {
  if (board_) board_->Stop();
  if (udp_fd_ >= 0) ::close(udp_fd_);
}

int DnsServer::Run(DnsConfig initial) {
  ApplyOverrides(overrides_, &initial);
  if (initial.admin_token.empty() && !http::IsLoopbackHost(initial.admin.host)) {
    LogError("dns",
             "admin {} is not a loopback address: set admin_token_file so that its changes need "
             "the token",
             initial.admin.ToString());
    return 1;
  }
  if (initial.admin_token.empty()) {
    LogWarn("dns", "admin {} has no admin_token_file: any local process can POST /reload",
            initial.admin.ToString());
  }
  auto config = std::make_shared<const DnsConfig>(std::move(initial));
  asio::error_code ec;
  asio::ip::address host = asio::ip::make_address(config->listen.host, ec);
  if (ec) {
    LogError("dns", "bad listen address {}: {}", config->listen.ToString(), ec.message());
    return 1;
  }
  // The UDP socket is a plain descriptor owned by the UDP thread: registered
  // with no event loop, so datagrams wake only that thread.
  if (Status udp = OpenUdpSocket(host, config->listen.port, &udp_fd_); !udp.ok()) {
    LogError("dns", "cannot bind UDP {}: {}", config->listen.ToString(), udp.message());
    return 1;
  }
  asio::ip::tcp::endpoint tcp_at(host, config->listen.port);
  tcp_acceptor_.open(tcp_at.protocol(), ec);
  if (!ec) tcp_acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) tcp_acceptor_.bind(tcp_at, ec);
  if (!ec) tcp_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    LogError("dns", "cannot listen on TCP {}: {}", config->listen.ToString(), ec.message());
    return 1;
  }
  // The admin endpoints need few connections and at most a small body
  // (POST /reload may carry "{}").
  http::ServerOptions admin_options;
  admin_options.max_connections = 32;
  admin_options.max_body_bytes = 1024;
  admin_options.header_timeout_ms = 5000;
  admin_options.idle_timeout_ms = 5000;
  admin_ = std::make_unique<http::SimpleServer>(
      control_io_, config->admin,
      [this](const http::Request& request, const http::Responder& respond) {
        respond(HandleAdmin(request));
      },
      admin_options);
  try {
    admin_->Start();
  } catch (const std::system_error& e) {
    LogError("dns", "admin: {}", e.what());
    return 1;
  }
  admin_->ExportMetrics(registry_);

  Publish(config);
  WaitSignal();
  AcceptTcp();
  LogInfo("dns", "serving zone {} on {} (UDP and TCP), admin on http://{}/, {} regions",
          NameToText(config->zone.apex), config->listen.ToString(), config->admin.ToString(),
          config->zone.policy.regions().size());

  auto guard = asio::make_work_guard(control_io_);
  std::thread control([this] { control_io_.run(); });
  std::thread udp([this] { UdpLoop(); });
  dns_io_.run();  // TCP
  stopping_.store(true);
  udp.join();
  guard.reset();
  control_io_.stop();
  control.join();
  if (board_) board_->Stop();
  LogInfo("dns", "stopped");
  return 0;
}

void DnsServer::Stop() {
  stopping_.store(true);
  dns_io_.stop();
  control_io_.stop();
}

// ---- DNS thread ----

void DnsServer::RefreshGeneration(Worker& worker) {
  uint64_t number = published_number_.load(std::memory_order_acquire);
  if (worker.current && worker.current->number == number) return;
  std::lock_guard lock(generation_mu_);
  worker.current = published_;
}

bool DnsServer::Answer(Worker& worker, std::span<const uint8_t> packet, const IpAddress& source,
                       Transport transport, std::vector<uint8_t>* out) {
  const Generation& g = *worker.current;
  ResponseInfo& info = worker.info;
  if (!Respond(g.config->zone, g.flags->view(), packet, source, transport, out, &info)) {
    metrics_.CountDropped();
    return false;
  }
  metrics_.Count(info, g.series);
  if (info.used_policy && info.policy.fail_open) {
    int64_t now = SteadyClock::Instance().NowMillis();
    if (now - worker.last_fail_open_log_ms >= kFailOpenLogIntervalMs) {
      worker.last_fail_open_log_ms = now;
      LogError("dns", "every region is down: failing open, answering with all {} addresses",
               info.policy.addresses.size());
    }
  }
  return true;
}

// The UDP thread: blocking recvmmsg (MSG_WAITFORONE: sleep until one
// datagram, then take whatever else is queued, up to kUdpBatch) and one
// sendmmsg per batch, as gdnsd does. SO_RCVTIMEO bounds each wait so the
// thread sees `stopping_`.
void DnsServer::UdpLoop() {
  const int fd = udp_fd_;
  UdpBatch& b = *udp_batch_;
  Worker& worker = udp_worker_;
  while (!stopping_.load(std::memory_order_relaxed)) {
    for (int i = 0; i < kUdpBatch; ++i) {
      b.in_iov[i] = {b.in[i].data(), b.in[i].size()};
      b.in_msgs[i].msg_hdr = {};
      b.in_msgs[i].msg_hdr.msg_name = &b.peers[i];
      b.in_msgs[i].msg_hdr.msg_namelen = sizeof(b.peers[i]);
      b.in_msgs[i].msg_hdr.msg_iov = &b.in_iov[i];
      b.in_msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int received = ::recvmmsg(fd, b.in_msgs.data(), kUdpBatch, MSG_WAITFORONE, nullptr);
    if (received <= 0) continue;  // timeout (checks stopping_), EINTR, or a transient error
    RefreshGeneration(worker);
    int replies = 0;
    for (int i = 0; i < received; ++i) {
      const mmsghdr& m = b.in_msgs[i];
      if (m.msg_hdr.msg_flags & MSG_TRUNC) continue;  // larger than any sane query: drop
      IpAddress source;
      if (!FromSockaddr(b.peers[i], &source)) continue;
      if (!Answer(worker, std::span<const uint8_t>(b.in[i].data(), m.msg_len), source,
                  Transport::kUdp, &b.out[replies])) {
        continue;
      }
      b.out_iov[replies] = {b.out[replies].data(), b.out[replies].size()};
      b.out_msgs[replies].msg_hdr = {};
      b.out_msgs[replies].msg_hdr.msg_name = &b.peers[i];
      b.out_msgs[replies].msg_hdr.msg_namelen = m.msg_hdr.msg_namelen;
      b.out_msgs[replies].msg_hdr.msg_iov = &b.out_iov[replies];
      b.out_msgs[replies].msg_hdr.msg_iovlen = 1;
      ++replies;
    }
    int sent = 0;
    while (sent < replies) {
      int n = ::sendmmsg(fd, b.out_msgs.data() + sent, replies - sent, MSG_DONTWAIT);
      if (n <= 0) break;  // a full socket buffer drops the rest, as UDP may
      sent += n;
    }
  }
}

void DnsServer::AcceptTcp() {
  tcp_acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      RefreshGeneration(tcp_worker_);
      const DnsConfig& config = *tcp_worker_.current->config;
      if (tcp_open_ >= config.max_tcp_connections) {
        asio::error_code ignored;
        socket.close(ignored);  // at the cap: refuse rather than queue without bound
      } else {
        auto conn =
            std::make_shared<TcpConnection>(this, std::move(socket), config.tcp_idle_timeout_ms);
        conn->Start();
      }
    }
    AcceptTcp();
  });
}

// ---- control thread ----

void DnsServer::Publish(const std::shared_ptr<const DnsConfig>& config) {
  auto board = std::make_unique<HealthBoard>(control_io_, *config, board_.get(), &registry_);
  auto g = std::make_shared<Generation>();
  g->config = config;
  g->flags = board->flags();
  g->series = metrics_.ForRegions(config->zone.policy);
  if (board_) board_->Stop();
  board->Start();
  board_ = std::move(board);
  config_ = config;
  {
    std::lock_guard lock(generation_mu_);
    g->number = published_number_.load() + 1;
    published_ = g;
    published_number_.store(g->number, std::memory_order_release);
  }
}

void DnsServer::WaitSignal() {
  signals_.async_wait([this](const asio::error_code& ec, int signal_number) {
    if (ec) return;
    if (signal_number == SIGHUP) {
      Reload();
      WaitSignal();
      return;
    }
    LogInfo("dns", "signal {}: stopping", signal_number);
    if (admin_) admin_->Stop();
    if (board_) board_->Stop();
    dns_io_.stop();
  });
}

bool DnsServer::Reload() {
  ConfigErrors errors;
  std::optional<DnsConfig> loaded = LoadDnsConfig(config_file_, &errors);
  if (!loaded) {
    reloads_failed_->Add();
    for (const std::string& line : errors.lines()) LogError("dns", "reload rejected: {}", line);
    LogError("dns", "reload rejected: still serving the previous config");
    return false;
  }
  ApplyOverrides(overrides_, &*loaded);
  if (!(loaded->listen == config_->listen) || !(loaded->admin == config_->admin)) {
    LogWarn("dns", "reload: listen/admin address changes need a restart; keeping {} and {}",
            config_->listen.ToString(), config_->admin.ToString());
    loaded->listen = config_->listen;
    loaded->admin = config_->admin;
  }
  Publish(std::make_shared<const DnsConfig>(std::move(*loaded)));
  reloads_ok_->Add();
  LogInfo("dns", "reloaded {}: zone {}, {} regions", config_file_, NameToText(config_->zone.apex),
          config_->zone.policy.regions().size());
  return true;
}

http::Response DnsServer::HandleAdmin(const http::Request& request) {
  if (request.path == "/reload") {
    if (request.method != "POST") {
      http::Response r = http::JsonError(405, "use POST /reload");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    if (auto refused =
            http::RefuseStateChange(request, {config_->admin, config_->admin_token, "nines-dns"})) {
      registry_
          .GetCounter(
              "nines_dns_admin_refused_total",
              "Admin changes refused (no or wrong token, foreign Host or Origin, not JSON).")
          ->Add();
      return *refused;
    }
    if (!Reload()) return http::JsonError(409, "the config has errors: still serving the old one");
    return http::Response::Json(
        200, nlohmann::json{{"ok", true}, {"generation", published_number_.load()}}.dump());
  }
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response r = http::JsonError(405, "use GET, or POST /reload");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (request.path == "/status") return http::Response::Json(200, StatusJson());
  if (request.path == "/metrics") {
    http::Response r = http::Response::Text(200, registry_.RenderPrometheus());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  return http::JsonError(404, "not found: try /status, /metrics or POST /reload");
}

std::string DnsServer::StatusJson() const {
  using nlohmann::json;
  const AnswerPolicy& policy = config_->zone.policy;
  int64_t now = SteadyClock::Instance().NowMillis();
  json regions = json::array();
  bool any_healthy = false;
  for (size_t r = 0; r < policy.regions().size(); ++r) {
    const RegionSpec& spec = policy.regions()[r];
    json addresses = json::array();
    bool healthy = false;
    for (size_t k = 0; k < spec.addresses.size(); ++k) {
      int index = policy.AddressIndex(static_cast<int>(r), static_cast<int>(k));
      const AddressHealth& a = board_->addresses()[index];
      bool up = board_->IsUp(index);
      healthy = healthy || up;
      health::CheckResult last = a.checker ? a.checker->last_result() : health::CheckResult();
      json last_check = nullptr;
      if (last.at_ms > 0) {
        last_check = {{"ok", last.ok},
                      {"status", last.status},
                      {"error", last.error},
                      {"latency_ms", last.latency_ms},
                      {"ago_ms", now - last.at_ms}};
      }
      addresses.push_back(
          {{"address", a.address},
           {"check", a.checker
                         ? fmt::format("http://{}{}", a.target.ToString(), config_->health.path)
                         : std::string("follows the region's IPv4 addresses")},
           {"up", up},
           {"checks", a.checker ? a.checker->checks() : 0},
           {"last_check", last_check}});
    }
    any_healthy = any_healthy || healthy;
    json networks = json::array();
    for (const IpPrefix& n : spec.networks) networks.push_back(n.ToString());
    regions.push_back({{"name", spec.name},
                       {"location", {spec.latitude, spec.longitude}},
                       {"healthy", healthy},
                       {"networks", networks},
                       {"addresses", addresses}});
  }
  json status = {{"zone", NameToText(config_->zone.apex)},
                 {"listen", config_->listen.ToString()},
                 {"serial", config_->zone.serial},
                 {"ttl", config_->zone.ttl},
                 {"generation", published_number_.load()},
                 {"fail_open", !any_healthy},
                 {"regions", regions}};
  return status.dump();
}

}  // namespace nines::dns
