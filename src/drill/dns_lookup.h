// Resolving the service name the way a client in a region would: a UDP query
// for the zone apex A record with an EDNS Client Subnet option for the
// region's client network, to each DNS server in turn, and a cache per
// entry (the drill gives each user its own: its stub resolver) that keeps an
// answer for its TTL (and no longer), its addresses in the order answered.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace nines::drill {

struct DnsAnswer {
  bool ok = false;
  std::string error;
  std::vector<std::string> addresses;  // A records, dotted
  uint32_t ttl = 0;                    // smallest TTL of the answers
};

// One query to `server` ("A.B.C.D:PORT") for `zone` ("shop.test."), with the
// Client Subnet `subnet` ("10.1.0.0/24", "" for none).
DnsAnswer QueryApex(const std::string& server, const std::string& zone, const std::string& subnet,
                    int timeout_ms);

// Per-entry cache of the apex answer (an entry is a client network, one per
// user in the drill), kept for its TTL as a stub resolver keeps it: clients
// try its addresses in the order the DNS gave them (the DNS rotates a
// region's lbs and lists fallback regions' lbs last). A refresh before the TTL
// happens only when a client asks for one (the opt-in
// LoadOptions::reresolve_on_failure, or while there is no answer at all).
// Thread-safe: the resolver thread writes, client code reads.
class RegionResolver {
 public:
  RegionResolver(std::vector<std::string> dns_servers, std::string zone,
                 std::vector<std::string> region_subnets);

  // The current lb address ("A.B.C.D") for clients of region `region`, or "".
  std::string Current(size_t region) const;
  // Every address of the region's current answer, in the order answered.
  std::vector<std::string> Addresses(size_t region) const;
  // Re-resolve this region soon, even before the TTL (at most once per
  // 200 ms per region).
  void RequestRefresh(size_t region);
  // Resolves every region whose entry is due; call every ~50 ms from one thread.
  void RefreshDue(int64_t now_ms);
  // Resolves every region once now; IoError (the query's error text) if one
  // gets no answer.
  Status ResolveAll(int64_t now_ms);

  // Fixes a region's address without DNS (tests; a resolver without DNS
  // servers keeps pinned addresses forever).
  void Pin(size_t region, std::string address);

  uint64_t queries() const;
  uint64_t failures() const;

 private:
  Status Resolve(size_t region, int64_t now_ms);

  struct Entry {
    std::vector<std::string> addresses;  // in the order answered
    int64_t expires_ms = 0;
    bool refresh_requested = false;
    int64_t last_query_ms = -1'000'000;
  };
  std::vector<std::string> servers_;
  std::string zone_;
  std::vector<std::string> subnets_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  uint64_t queries_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace nines::drill
