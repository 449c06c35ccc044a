// Client keys: X-Forwarded-For walked from the right past trusted proxies.
#include "lb/client_key.h"

namespace nines::lb {
namespace {

bool Trusted(uint32_t ip, const std::vector<Ipv4Network>& trusted) {
  for (const Ipv4Network& net : trusted) {
    if (net.Contains(ip)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An IPv6 address as X-Forwarded-For carries it (never a trusted proxy:
// trusted_proxies holds IPv4 networks).
bool LooksLikeIpv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45 || s.find(':') == std::string_view::npos) return false;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string_view ForwardedClient(const std::vector<http::Header>& headers, std::string_view peer,
                                 uint32_t peer_ip, const std::vector<Ipv4Network>& trusted) {
  if (!Trusted(peer_ip, trusted)) return peer;
  std::string_view client = peer;  // the leftmost trusted hop seen so far
  for (auto h = headers.rbegin(); h != headers.rend(); ++h) {
    if (!http::EqualsIgnoreCase(h->name, "x-forwarded-for")) continue;
    std::string_view rest = h->value;
    while (!rest.empty()) {
      size_t comma = rest.rfind(',');
      std::string_view item = Trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
      if (item.empty()) continue;
      uint32_t ip = 0;
      if (!ParseIpv4Address(item, &ip)) return LooksLikeIpv6(item) ? item : client;
      if (!Trusted(ip, trusted)) return item;
      client = item;
    }
  }
  return client;
}

std::string_view ClientKeyOf(const http::RequestHead& request, std::string_view peer,
                             uint32_t peer_ip, const RateLimitConfig& limits) {
  if (!limits.client_header.empty()) {
    const http::Header* h = request.Find(limits.client_header);
    if (h && !h->value.empty()) return h->value;
    return peer;
  }
  if (limits.trusted_proxies.empty()) return peer;
  return ForwardedClient(request.headers, peer, peer_ip, limits.trusted_proxies);
}

}  // namespace nines::lb
