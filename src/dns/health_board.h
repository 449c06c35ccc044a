// The health of every load balancer address of one config generation: one
// HealthChecker per address (HTTP GET of [health].path on the region's
// check_port), mirrored into a flat array of atomic flags that the answer
// path reads without ever waiting on a check. Lives on the control thread.
#pragma once

#include <asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "dns/config.h"
#include "health/health_checker.h"

namespace nines::dns {

// The flags the responder reads, shared with the DNS thread.
struct HealthFlagArray {
  explicit HealthFlagArray(size_t n) : size(n), flags(new std::atomic<bool>[n]) {
    for (size_t i = 0; i < n; ++i) flags[i].store(true);
  }
  HealthFlags view() const { return HealthFlags(flags.get(), size); }
  size_t size;
  std::unique_ptr<std::atomic<bool>[]> flags;
};

struct AddressHealth {
  int region = 0;
  std::string address;                             // as configured
  Endpoint target;                                 // address:check_port
  std::shared_ptr<health::HealthChecker> checker;  // null for IPv6 (not checked, see below)
};

class HealthBoard {
 public:
  // Creates (but does not start) one checker per address. States of targets
  // also present in `previous` carry over; new ones start up.
  HealthBoard(asio::io_context& io, const DnsConfig& config, const HealthBoard* previous,
              MetricsRegistry* metrics);
  ~HealthBoard();

  void Start();
  void Stop();

  std::shared_ptr<const HealthFlagArray> flags() const { return flags_; }
  const std::vector<AddressHealth>& addresses() const { return addresses_; }
  bool IsUp(int index) const { return flags_->flags[index].load(std::memory_order_relaxed); }

 private:
  // IPv6 addresses follow their region's IPv4 health; refreshes the gauges.
  void SyncDerived(const std::vector<int>& v4_indices, const std::vector<int>& v6_indices);

  std::shared_ptr<HealthFlagArray> flags_;
  std::vector<AddressHealth> addresses_;  // in flattened address order
  std::vector<Gauge*> gauge_by_index_;
};

}  // namespace nines::dns
