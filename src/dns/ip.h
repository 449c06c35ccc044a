// IPv4 and IPv6 addresses and CIDR prefixes for the answer policy: parsing
// from text, prefix containment and common-prefix length.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace nines::dns {

struct IpAddress {
  int family = 4;                   // 4 or 6
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4
  int bits() const { return family == 4 ? 32 : 128; }
  bool operator==(const IpAddress&) const = default;
  std::string ToString() const;
};

struct IpPrefix {
  IpAddress address;  // bits beyond `length` are zero
  int length = 0;
  std::string ToString() const;
};

// "10.1.2.3" or "2001:db8::1". Returns false if not an address.
bool ParseIpAddress(std::string_view text, IpAddress* out);
// "10.1.0.0/16" (host bits must be zero); an error is InvalidArgument.
Status ParseIpPrefix(std::string_view text, IpPrefix* out);

// Does `prefix` contain `address` (same family)?
bool PrefixContains(const IpPrefix& prefix, const IpAddress& address);
// Leading bits `a` and `b` share (same family), at most their bit width.
int CommonPrefixLength(const IpAddress& a, const IpAddress& b);

}  // namespace nines::dns
