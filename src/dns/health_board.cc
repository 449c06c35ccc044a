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
    for (size_t k = 0; k < region.addresses.size(); ++k) {
      AddressHealth a;
      a.region = static_cast<int>(r);
      a.address = region.addresses[k].ToString();
      a.target.host = a.address;
      a.target.port = static_cast<uint16_t>(config.check_ports[r]);
      bool up = true;  // optimistic start: answer normally until checks say otherwise
      if (previous) {
        for (size_t i = 0; i < previous->addresses_.size(); ++i) {
          if (previous->addresses_[i].target == a.target) up = previous->IsUp(static_cast<int>(i));
        }
      }
      int index = policy.AddressIndex(static_cast<int>(r), static_cast<int>(k));
      flags_->flags[index].store(up);
      Gauge* gauge = metrics->GetGauge("nines_dns_address_up",
                                       "1 while the load balancer address passes its checks",
                                       {{"region", region.name}, {"address", a.address}});
      gauge->Set(up ? 1 : 0);
      std::weak_ptr<HealthFlagArray> weak_flags = flags_;
      std::string region_name = region.name;
      std::string address = a.address;
      a.checker = std::make_shared<HealthChecker>(
          io, a.target, config.health, up,
          [weak_flags, index, gauge, region_name, address](bool now_up, const CheckResult& last) {
            if (auto f = weak_flags.lock()) f->flags[index].store(now_up);
            gauge->Set(now_up ? 1 : 0);
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
  }
}

HealthBoard::~HealthBoard() {
  Stop();
}

void HealthBoard::Start() {
  for (AddressHealth& a : addresses_) a.checker->Start();
}

void HealthBoard::Stop() {
  for (AddressHealth& a : addresses_) {
    if (a.checker) a.checker->Stop();
  }
}

}  // namespace nines::dns
