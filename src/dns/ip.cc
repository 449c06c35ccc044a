// Address parsing via inet_pton (pure libc, no sockets) and bit arithmetic.
#include "dns/ip.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace nines::dns {

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
  return buf;
}

std::string IpPrefix::ToString() const {
  return fmt::format("{}/{}", address.ToString(), length);
}

bool ParseIpAddress(std::string_view text, IpAddress* out) {
  if (text.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.family = 4;
  } else if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.family = 6;
  } else {
    return false;
  }
  *out = a;
  return true;
}

Status ParseIpPrefix(std::string_view text, IpPrefix* out) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("bad network \"{}\": expected ADDRESS/LENGTH", text));
  }
  IpPrefix p;
  if (!ParseIpAddress(text.substr(0, slash), &p.address)) {
    return Status::InvalidArgument(
        fmt::format("bad network \"{}\": not an IPv4 or IPv6 address", text));
  }
  std::string_view len_text = text.substr(slash + 1);
  int length = -1;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
  if (ec != std::errc() || ptr != len_text.data() + len_text.size() || length < 0 ||
      length > p.address.bits()) {
    return Status::InvalidArgument(
        fmt::format("bad network \"{}\": prefix length must be 0-{}", text, p.address.bits()));
  }
  p.length = length;
  IpAddress masked = p.address;
  for (int bit = length; bit < p.address.bits(); ++bit) {
    masked.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  if (!(masked == p.address)) {
    return Status::InvalidArgument(
        fmt::format("bad network \"{}\": bits set beyond the prefix length (did you mean {}?)",
                    text, IpPrefix{masked, length}.ToString()));
  }
  *out = p;
  return Status::Ok();
}

int CommonPrefixLength(const IpAddress& a, const IpAddress& b) {
  int bytes = a.bits() / 8;
  for (int i = 0; i < bytes; ++i) {
    uint8_t diff = a.bytes[i] ^ b.bytes[i];
    if (diff != 0) {
      int bit = 0;
      while (!(diff & (0x80 >> bit))) ++bit;
      return i * 8 + bit;
    }
  }
  return a.bits();
}

bool PrefixContains(const IpPrefix& prefix, const IpAddress& address) {
  if (prefix.address.family != address.family) return false;
  return CommonPrefixLength(prefix.address, address) >= prefix.length;
}

}  // namespace nines::dns
