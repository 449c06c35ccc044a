// QueryApex over a connected UDP socket (nines_dns_wire builds and decodes
// the messages) and the TTL-respecting per-region cache.
#include "drill/dns_lookup.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "base/clock.h"
#include "dns/message.h"
#include "dns/name.h"

namespace nines::drill {

namespace {

constexpr uint16_t kTypeA = 1;

bool ParseSubnet(const std::string& text, dns::ClientSubnet* out) {
  size_t slash = text.find('/');
  std::string ip = text.substr(0, slash);
  int prefix = slash == std::string::npos ? 24 : std::atoi(text.c_str() + slash + 1);
  in_addr a{};
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1 || prefix < 0 || prefix > 32) return false;
  out->family = 1;
  out->source_prefix = static_cast<uint8_t>(prefix);
  out->scope_prefix = 0;
  std::memcpy(out->address.data(), &a, 4);
  return true;
}

}  // namespace

DnsAnswer QueryApex(const std::string& server, const std::string& zone, const std::string& subnet,
                    int timeout_ms) {
  DnsAnswer answer;
  size_t colon = server.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  if (colon == std::string::npos ||
      inet_pton(AF_INET, server.substr(0, colon).c_str(), &to.sin_addr) != 1) {
    answer.error = "bad DNS server address " + server;
    return answer;
  }
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(server.c_str() + colon + 1)));
  std::string wire;
  if (!dns::NameFromText(zone, &wire)) {
    answer.error = "bad zone name " + zone;
    return answer;
  }
  dns::ClientSubnet ecs;
  if (!subnet.empty() && !ParseSubnet(subnet, &ecs)) {
    answer.error = "bad subnet " + subnet;
    return answer;
  }
  static thread_local std::mt19937 rng{std::random_device{}()};
  uint16_t id = static_cast<uint16_t>(rng());
  std::vector<uint8_t> query =
      dns::BuildQuery(id, wire, kTypeA, 1232, subnet.empty() ? nullptr : &ecs);
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    answer.error = std::string("socket: ") + std::strerror(errno);
    return answer;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 ||
      ::send(fd, query.data(), query.size(), 0) < 0) {
    answer.error = "send to " + server + ": " + std::strerror(errno);
    return answer;
  }
  int64_t deadline = SteadyClock::Instance().NowMillis() + timeout_ms;
  while (true) {
    int64_t left = deadline - SteadyClock::Instance().NowMillis();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      answer.error = "no answer from " + server;
      return answer;
    }
    uint8_t buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      answer.error = "recv from " + server + ": " + std::strerror(errno);
      return answer;
    }
    auto msg = dns::DecodeMessage(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    if (!msg || msg->id != id) continue;  // not ours: keep waiting
    if (msg->rcode != 0) {
      answer.error = "rcode " + std::to_string(msg->rcode) + " from " + server;
      return answer;
    }
    uint32_t ttl = UINT32_MAX;
    for (const dns::Record& r : msg->answers) {
      if (r.type != kTypeA || r.rdata.size() != 4) continue;
      char text[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, r.rdata.data(), text, sizeof(text));
      answer.addresses.push_back(text);
      ttl = std::min(ttl, r.ttl);
    }
    if (answer.addresses.empty()) {
      answer.error = "no A record from " + server;
      return answer;
    }
    answer.ttl = ttl;
    answer.ok = true;
    return answer;
  }
}

RegionResolver::RegionResolver(std::vector<std::string> dns_servers, std::string zone,
                               std::vector<std::string> region_subnets)
    : servers_(std::move(dns_servers)),
      zone_(std::move(zone)),
      subnets_(std::move(region_subnets)),
      entries_(subnets_.size()) {}

std::string RegionResolver::Current(size_t region) const {
  std::lock_guard lock(mu_);
  if (region >= entries_.size() || entries_[region].addresses.empty()) return "";
  return entries_[region].addresses[0];
}

std::vector<std::string> RegionResolver::Addresses(size_t region) const {
  std::lock_guard lock(mu_);
  return region < entries_.size() ? entries_[region].addresses : std::vector<std::string>{};
}

void RegionResolver::RequestRefresh(size_t region) {
  std::lock_guard lock(mu_);
  if (region < entries_.size()) entries_[region].refresh_requested = true;
}

Status RegionResolver::Resolve(size_t region, int64_t now_ms) {
  if (servers_.empty()) {
    if (!Addresses(region).empty()) return Status::Ok();
    return Status::NotFound("region " + std::to_string(region) +
                            " has no DNS server and no pinned address");
  }
  DnsAnswer answer;
  for (const std::string& server : servers_) {
    answer = QueryApex(server, zone_, subnets_[region], 300);
    if (answer.ok) break;
  }
  std::lock_guard lock(mu_);
  Entry& e = entries_[region];
  ++queries_;
  e.last_query_ms = now_ms;
  e.refresh_requested = false;
  if (!answer.ok) {
    ++failures_;
    e.expires_ms = now_ms + 200;  // keep the old address, ask again soon
    return Status::IoError(answer.error);
  }
  // In the order answered, as getaddrinfo keeps it for same-scope
  // loopback addresses: the DNS puts the region's lbs (rotated) first and
  // the fallback region's after them.
  e.addresses = std::move(answer.addresses);
  e.expires_ms = now_ms + std::max<int64_t>(answer.ttl, 1) * 1000;
  return Status::Ok();
}

void RegionResolver::RefreshDue(int64_t now_ms) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    bool due;
    {
      std::lock_guard lock(mu_);
      const Entry& e = entries_[i];
      due = now_ms >= e.expires_ms || (e.refresh_requested && now_ms - e.last_query_ms >= 200);
    }
    // A failure keeps the old address and is counted in failures().
    if (due) (void)Resolve(i, now_ms);
  }
}

Status RegionResolver::ResolveAll(int64_t now_ms) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (Status s = Resolve(i, now_ms); !s.ok()) return s;
  }
  return Status::Ok();
}

void RegionResolver::Pin(size_t region, std::string address) {
  std::lock_guard lock(mu_);
  if (region >= entries_.size()) return;
  entries_[region].addresses = {std::move(address)};
  entries_[region].expires_ms = INT64_MAX;
}

uint64_t RegionResolver::queries() const {
  std::lock_guard lock(mu_);
  return queries_;
}

uint64_t RegionResolver::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

}  // namespace nines::drill
