// The counters of `nines dns` (Prometheus via base/metrics): queries by type,
// responses by rcode, answers by region, failovers between regions, fail-open
// answers, truncations. Registered once; the hot path only adds.
#pragma once

#include <array>
#include <vector>

#include "base/metrics.h"
#include "dns/policy.h"
#include "dns/responder.h"

namespace nines::dns {

class DnsMetrics {
 public:
  explicit DnsMetrics(MetricsRegistry* registry);

  // Per-generation series for the current regions (answers, failovers).
  struct RegionSeries {
    std::vector<Counter*> answers;    // by region
    std::vector<Counter*> failovers;  // by home * n + answering region
  };
  RegionSeries ForRegions(const AnswerPolicy& policy);

  void Count(const ResponseInfo& info, const RegionSeries& regions);
  void CountDropped() { dropped_->Add(); }

  MetricsRegistry* registry() const { return registry_; }
  Gauge* tcp_connections() const { return tcp_connections_; }

 private:
  MetricsRegistry* registry_;
  std::array<Counter*, 7> queries_{};  // A NS SOA AAAA ANY OTHER NONE
  std::array<Counter*, 8> responses_{};
  Counter* fail_open_;
  Counter* truncated_;
  Counter* dropped_;
  Gauge* tcp_connections_;
};

}  // namespace nines::dns
