// Building, starting and stopping the checkers of one config generation.
#include "dns/health_board.h"

#include "base/log.h"

namespace nines::dns {

HealthBoard::HealthBoard(asio::io_context& io, const DnsConfig& config, const HealthBoard* previous,
                         MetricsRegistry* metrics) {
  const AnswerPolicy& policy = config.zone.policy;
  flags_ = std::make_shared<HealthFlagArray>(static_cast<size_t>(policy.address_count()));
  for (size_t r = 0; r < policy.regions().size(); ++r) {
    const RegionSpec& region = policy.regions()[r];
    // IPv6 addresses are not checked over HTTP (the shared TCP helpers are
    // IPv4-only): they follow their region's IPv4 addresses, and are always
    // up in a region that has none.
    std::vector<int> v4_indices;
    std::vector<int> v6_indices;
    for (size_t k = 0; k < region.addresses.size(); ++k) {
      int index = policy.AddressIndex(static_cast<int>(r), static_cast<int>(k));
      (region.addresses[k].family == 4 ? v4_indices : v6_indices).push_back(index);
    }
    for (size_t k = 0; k < region.addresses.size(); ++k) {
      AddressHealth a;
      a.region = static_cast<int>(r);
      a.address = region.addresses[k].ToString();
      a.target.host = a.address;
      a.target.port = static_cast<uint16_t>(config.check_ports[r]);
      int index = policy.AddressIndex(static_cast<int>(r), static_cast<int>(k));
      Gauge* gauge = metrics->GetGauge("nines_dns_address_up",
                                       "1 while the load balancer address passes its checks",
                                       {{"region", region.name}, {"address", a.address}});
      gauge_by_index_.push_back(gauge);
      if (region.addresses[k].family != 4) {
        addresses_.push_back(std::move(a));
        continue;
      }
      bool up = true;  // optimistic start: answer normally until checks say otherwise
      if (previous) {
        for (size_t i = 0; i < previous->addresses_.size(); ++i) {
          if (previous->addresses_[i].target == a.target) up = previous->IsUp(static_cast<int>(i));
        }
      }
      flags_->flags[index].store(up);
      std::weak_ptr<HealthFlagArray> weak_flags = flags_;
      std::string region_name = region.name;
      std::string address = a.address;
      a.checker = std::make_shared<health::HealthChecker>(
          io, a.target, config.health, up,
          [this, weak_flags, index, v4_indices, v6_indices, region_name, address](
              bool now_up, const health::CheckResult& last) {
            auto f = weak_flags.lock();
            if (!f) return;
            f->flags[index].store(now_up);
            SyncDerived(v4_indices, v6_indices);
            if (now_up) {
              LogInfo("dns", "region {} address {} is up", region_name, address);
            } else {
              LogWarn("dns", "region {} address {} is down ({}{})", region_name, address,
                      last.error.empty() ? "status " : last.error,
                      last.error.empty() ? std::to_string(last.status) : "");
            }
          });
      addresses_.push_back(std::move(a));
    }
    SyncDerived(v4_indices, v6_indices);
  }
}

void HealthBoard::SyncDerived(const std::vector<int>& v4_indices,
                              const std::vector<int>& v6_indices) {
  bool any_v4_up = v4_indices.empty();
  for (int i : v4_indices) any_v4_up = any_v4_up || flags_->flags[i].load();
  for (int i : v6_indices) flags_->flags[i].store(any_v4_up);
  for (size_t i = 0; i < gauge_by_index_.size(); ++i) {
    gauge_by_index_[i]->Set(flags_->flags[i].load() ? 1 : 0);
  }
}

HealthBoard::~HealthBoard() {
  Stop();
}

void HealthBoard::Start() {
  for (AddressHealth& a : addresses_) {
    if (a.checker) a.checker->Start();
  }
}

void HealthBoard::Stop() {
  for (AddressHealth& a : addresses_) {
    if (a.checker) a.checker->Stop();
  }
}

}  // namespace nines::dns
