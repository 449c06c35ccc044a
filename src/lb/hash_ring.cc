// Ring construction and lookup.
#include "lb/hash_ring.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/check.h"

namespace nines::lb {

uint64_t HashBytes(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

void HashRing::Build(const std::vector<int>& server_ids, const std::vector<std::string_view>& names,
                     const std::vector<int>& weights) {
  NINES_CHECK(names.size() == server_ids.size() && weights.size() == server_ids.size(),
              "one name and one weight per server on the ring");
  points_.clear();
  for (size_t i = 0; i < server_ids.size(); ++i) {
    int points = kPointsPerWeight * std::max(1, weights[i]);
    for (int p = 0; p < points; ++p) {
      points_.push_back(Point{HashBytes(fmt::format("{}#{}", names[i], p)), server_ids[i]});
    }
  }
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.hash < b.hash || (a.hash == b.hash && a.server < b.server);
  });
}

size_t HashRing::LowerBound(uint64_t hash) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), hash,
                             [](const Point& p, uint64_t h) { return p.hash < h; });
  return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
}

}  // namespace nines::lb
