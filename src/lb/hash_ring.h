// Consistent hashing (ketama-style ring with virtual nodes per unit of
// weight): when a server leaves, only the keys it owned move.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace nines::lb {

// 64-bit hash of bytes (FNV-1a followed by a murmur-style finalizer).
uint64_t HashBytes(std::string_view data);

class HashRing {
 public:
  static constexpr int kPointsPerWeight = 100;

  // server_ids[i] has weights[i]; names seed each server's points so the ring
  // does not depend on the order servers are listed in.
  void Build(const std::vector<int>& server_ids, const std::vector<std::string_view>& names,
             const std::vector<int>& weights);
  bool empty() const { return points_.empty(); }
  size_t size() const { return points_.size(); }

  // Walks clockwise from the key's point and returns the first server id for
  // which accept(id) is true, or -1.
  template <typename Accept>
  int Find(uint64_t key_hash, Accept&& accept) const {
    if (points_.empty()) return -1;
    size_t start = LowerBound(key_hash);
    int last_tried = -1;
    for (size_t n = 0; n < points_.size(); ++n) {
      const Point& p = points_[(start + n) % points_.size()];
      if (p.server == last_tried) continue;
      last_tried = p.server;
      if (accept(p.server)) return p.server;
    }
    return -1;
  }

 private:
  struct Point {
    uint64_t hash;
    int server;
  };
  size_t LowerBound(uint64_t hash) const;
  std::vector<Point> points_;
};

}  // namespace nines::lb
