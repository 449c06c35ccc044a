// The authoritative answer for one zone, pure logic: from a query packet,
// the client's address and the health flags to a response packet. A and
// AAAA from the answer policy at the apex and configured names, SOA and NS
// at the apex, NXDOMAIN/NODATA with the SOA, REFUSED outside the zone,
// FORMERR, NOTIMP, BADVERS, EDNS0 and Client Subnet, TC when it does not fit.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dns/ip.h"
#include "dns/policy.h"
#include "dns/query.h"

namespace nines::dns {

struct NameServer {
  std::string name;   // wire form, lower case
  IpAddress address;  // glue when the name is inside the zone
};

struct Zone {
  std::string apex;                       // wire form, lower case
  uint32_t ttl = 10;                      // TTL of every answer
  std::vector<std::string> policy_names;  // names (besides the apex) answered by the policy
  std::vector<NameServer> nameservers;
  std::string hostmaster;  // SOA RNAME, wire form
  uint32_t serial = 1;
  uint32_t refresh = 3600;
  uint32_t retry = 600;
  uint32_t expire = 86400;
  uint32_t negative_ttl = 10;  // SOA MINIMUM (RFC 2308)
  AnswerPolicy policy;
};

// What happened, for metrics and logs.
struct ResponseInfo {
  uint16_t qtype = 0;
  int rcode = 0;  // including extended rcodes (BADVERS = 16)
  bool truncated = false;
  bool used_policy = false;  // an A/AAAA answer came from the answer policy
  PolicyAnswer policy;
};

enum class Transport { kUdp, kTcp };

// Builds the response to `packet` into `out`. Returns false when the packet
// gets no answer at all (shorter than a header, or not a query).
bool Respond(const Zone& zone, HealthFlags health, std::span<const uint8_t> packet,
             const IpAddress& source, Transport transport, std::vector<uint8_t>* out,
             ResponseInfo* info);

// The largest UDP response for this query: 512 without EDNS, else the
// requestor's size clamped to [512, kAdvertisedUdpSize].
size_t MaxUdpResponse(const Edns& edns);

}  // namespace nines::dns
