// The answer policy of the global traffic manager, pure logic: which region
// a client belongs to (longest prefix among the regions' networks), which
// region answers (that one if healthy, else the nearest healthy one by
// great-circle distance), the fallback addresses after it (the next-nearest
// healthy regions' load balancers), and fail-open when every region is down.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dns/ip.h"

namespace nines::dns {

struct RegionSpec {
  std::string name;
  double latitude = 0;
  double longitude = 0;
  std::vector<IpAddress> addresses;  // the region's load balancers (A and AAAA)
  std::vector<IpPrefix> networks;    // client networks that belong to this region
};

// Health of every address, flattened: region r's address k is at
// AnswerPolicy::AddressIndex(r, k). Written by health checks, read by answers.
using HealthFlags = std::span<const std::atomic<bool>>;

// How an answer is filled beyond the answering region's healthy addresses.
struct AnswerOptions {
  // Up to this many healthy addresses of the next-nearest healthy regions,
  // appended after the answering region's: a client holding the answer
  // when that region dies still has a live address to try (stub resolvers
  // try an answer's addresses in order). 0: none.
  int fallback_addresses = 0;
  // Each region's addresses rotated by the query id (BIND's cyclic order),
  // so clients spread over a region's load balancers; else config order.
  bool rotate = false;
};

struct PolicyAnswer {
  int client_region = -1;      // matched by network; -1: none matched (default location used)
  int home_region = -1;        // the nearest region with addresses of the family asked for
  int region = -1;             // the region answering; -1 when failing open or nothing to answer
  bool failover = false;       // answered by a region other than home
  bool fail_open = false;      // every region with such addresses is down: all of them returned
  int scope_prefix = 0;        // ECS scope: leading bits of the client address this answer covers
  std::vector<int> addresses;  // flattened address indices to answer with (see AnswerOptions)
  int fallback_count = 0;      // trailing addresses that belong to regions after `region`
};

// Great-circle distance in kilometres (haversine, mean Earth radius).
double GreatCircleKm(double lat1, double lon1, double lat2, double lon2);

class AnswerPolicy {
 public:
  AnswerPolicy() = default;
  AnswerPolicy(std::vector<RegionSpec> regions, double default_latitude, double default_longitude,
               AnswerOptions options = {});

  // `client` is the ECS address (zero-padded prefix) or the source address.
  // `family` is 4 for A and 6 for AAAA answers. `rotation` (the query id)
  // picks each region's first address when options().rotate. Fills `answer`:
  // the answering region's healthy addresses, then its fallbacks.
  void Choose(const IpAddress& client, int family, HealthFlags health, PolicyAnswer* answer,
              uint32_t rotation = 0) const;

  const std::vector<RegionSpec>& regions() const { return regions_; }
  const AnswerOptions& options() const { return options_; }
  int AddressIndex(int region, int k) const { return first_address_[region] + k; }
  int address_count() const { return address_count_; }
  // The region of a flattened address index.
  int RegionOfAddress(int index) const;
  // Regions by distance from region r (r first), and from the default location.
  const std::vector<int>& NearestFrom(int region) const { return nearest_[region]; }
  const std::vector<int>& DefaultOrder() const { return default_order_; }

 private:
  // Appends the healthy `family` addresses of region r to `out`, rotated.
  void AppendHealthy(int r, int family, HealthFlags health, uint32_t rotation,
                     std::vector<int>* out) const;

  std::vector<RegionSpec> regions_;
  AnswerOptions options_;
  std::vector<int> first_address_;
  int address_count_ = 0;
  std::vector<std::vector<int>> nearest_;
  std::vector<int> default_order_;
};

}  // namespace nines::dns
