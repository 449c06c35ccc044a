// Region choice: longest-prefix match, nearest-healthy failover, fallback
// addresses from the next-nearest healthy regions, fail open.
#include "dns/policy.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/check.h"

namespace nines::dns {
namespace {

constexpr double kEarthRadiusKm = 6371.0088;
constexpr double kPi = 3.14159265358979323846;

std::vector<int> OrderByDistance(const std::vector<RegionSpec>& regions, double lat, double lon) {
  std::vector<int> order(regions.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> distance(regions.size());
  for (size_t i = 0; i < regions.size(); ++i) {
    distance[i] = GreatCircleKm(lat, lon, regions[i].latitude, regions[i].longitude);
  }
  // Ties keep config order, so the result is deterministic.
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return distance[a] < distance[b]; });
  return order;
}

}  // namespace

double GreatCircleKm(double lat1, double lon1, double lat2, double lon2) {
  auto radians = [](double degrees) { return degrees * kPi / 180.0; };
  double dlat = radians(lat2 - lat1);
  double dlon = radians(lon2 - lon1);
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) + std::cos(radians(lat1)) *
                                                           std::cos(radians(lat2)) *
                                                           std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

AnswerPolicy::AnswerPolicy(std::vector<RegionSpec> regions, double default_latitude,
                           double default_longitude, AnswerOptions options)
    : regions_(std::move(regions)), options_(options) {
  for (const RegionSpec& r : regions_) {
    first_address_.push_back(address_count_);
    address_count_ += static_cast<int>(r.addresses.size());
  }
  for (const RegionSpec& r : regions_) {
    std::vector<int> order = OrderByDistance(regions_, r.latitude, r.longitude);
    // The region itself first even if another sits at the same location.
    int self = static_cast<int>(&r - regions_.data());
    order.erase(std::find(order.begin(), order.end(), self));
    order.insert(order.begin(), self);
    nearest_.push_back(std::move(order));
  }
  default_order_ = OrderByDistance(regions_, default_latitude, default_longitude);
}

int AnswerPolicy::RegionOfAddress(int index) const {
  NINES_CHECK(index >= 0 && index < address_count_, "address index within the zone");
  auto it = std::upper_bound(first_address_.begin(), first_address_.end(), index);
  return static_cast<int>(it - first_address_.begin()) - 1;
}

void AnswerPolicy::AppendHealthy(int r, int family, HealthFlags health, uint32_t rotation,
                                 std::vector<int>* out) const {
  size_t first = out->size();
  const RegionSpec& region = regions_[r];
  for (size_t k = 0; k < region.addresses.size(); ++k) {
    if (region.addresses[k].family != family) continue;
    int index = AddressIndex(r, static_cast<int>(k));
    if (health[index].load(std::memory_order_relaxed)) out->push_back(index);
  }
  size_t n = out->size() - first;
  if (options_.rotate && n > 1) {
    std::rotate(out->begin() + static_cast<std::ptrdiff_t>(first),
                out->begin() + static_cast<std::ptrdiff_t>(first + rotation % n), out->end());
  }
}

void AnswerPolicy::Choose(const IpAddress& client, int family, HealthFlags health,
                          PolicyAnswer* answer, uint32_t rotation) const {
  NINES_CHECK(static_cast<int>(health.size()) >= address_count_, "a health flag per address");
  *answer = PolicyAnswer{.addresses = std::move(answer->addresses)};
  answer->addresses.clear();

  // Longest prefix match. The scope is how many leading bits of the client
  // address decide this answer: the matched length, and enough bits to rule
  // out every other network that does not contain the client.
  int best_length = -1;
  int scope = 0;
  for (size_t r = 0; r < regions_.size(); ++r) {
    for (const IpPrefix& net : regions_[r].networks) {
      if (net.address.family != client.family) continue;
      int common = CommonPrefixLength(net.address, client);
      if (common >= net.length) {
        if (net.length > best_length) {
          best_length = net.length;
          answer->client_region = static_cast<int>(r);
        }
        scope = std::max(scope, net.length);
      } else {
        scope = std::max(scope, common + 1);
      }
    }
  }
  answer->scope_prefix = scope;

  const std::vector<int>& order =
      answer->client_region >= 0 ? nearest_[answer->client_region] : default_order_;
  if (order.empty()) return;
  // Home: the nearest region that has addresses of this family at all.
  bool any_of_family = false;
  for (size_t i = 0; i < order.size(); ++i) {
    int r = order[i];
    const RegionSpec& region = regions_[r];
    for (const IpAddress& a : region.addresses) {
      if (a.family != family) continue;
      if (!any_of_family) answer->home_region = r;
      any_of_family = true;
      break;
    }
    AppendHealthy(r, family, health, rotation, &answer->addresses);
    if (answer->addresses.empty()) continue;
    answer->region = r;
    answer->failover = r != answer->home_region;
    // Fallbacks: the next-nearest healthy regions' addresses, nearest first.
    size_t primary = answer->addresses.size();
    size_t limit = primary + static_cast<size_t>(std::max(0, options_.fallback_addresses));
    for (size_t j = i + 1; j < order.size() && answer->addresses.size() < limit; ++j) {
      AppendHealthy(order[j], family, health, rotation, &answer->addresses);
      if (answer->addresses.size() > limit) answer->addresses.resize(limit);
    }
    answer->fallback_count = static_cast<int>(answer->addresses.size() - primary);
    return;
  }
  if (!any_of_family) return;  // nothing of this family configured: NODATA
  // Every region down: answer with every address (Route 53's fail open).
  answer->fail_open = true;
  for (size_t r = 0; r < regions_.size(); ++r) {
    for (size_t k = 0; k < regions_[r].addresses.size(); ++k) {
      if (regions_[r].addresses[k].family == family) {
        answer->addresses.push_back(AddressIndex(static_cast<int>(r), static_cast<int>(k)));
      }
    }
  }
}

}  // namespace nines::dns
