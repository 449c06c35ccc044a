// Registration and counting of the DNS metrics.
#include "dns/dns_metrics.h"

#include "dns/dns_constants.h"

namespace nines::dns {
namespace {

constexpr const char* kTypeLabels[] = {"A", "NS", "SOA", "AAAA", "ANY", "OTHER", "NONE"};
constexpr int kRcodes[] = {kRcodeNoError, kRcodeFormErr, kRcodeServFail, kRcodeNxDomain,
                           kRcodeNotImp,  kRcodeRefused, kRcodeBadVers};

int TypeSlot(uint16_t qtype) {
  switch (qtype) {
    case kTypeA:
      return 0;
    case kTypeNs:
      return 1;
    case kTypeSoa:
      return 2;
    case kTypeAaaa:
      return 3;
    case kTypeAny:
      return 4;
    case 0:
      return 6;
    default:
      return 5;
  }
}

}  // namespace

DnsMetrics::DnsMetrics(MetricsRegistry* registry) : registry_(registry) {
  for (size_t i = 0; i < queries_.size(); ++i) {
    queries_[i] = registry->GetCounter("nines_dns_queries_total", "Queries answered, by QTYPE",
                                       {{"qtype", kTypeLabels[i]}});
  }
  for (size_t i = 0; i < std::size(kRcodes); ++i) {
    responses_[i] = registry->GetCounter("nines_dns_responses_total", "Responses sent, by RCODE",
                                         {{"rcode", RcodeName(kRcodes[i])}});
  }
  responses_[7] = registry->GetCounter("nines_dns_responses_total", "Responses sent, by RCODE",
                                       {{"rcode", "OTHER"}});
  fail_open_ =
      registry->GetCounter("nines_dns_fail_open_total",
                           "Answers with every address because every region was down (fail open)");
  truncated_ = registry->GetCounter("nines_dns_truncated_total",
                                    "UDP responses with TC=1 (client should retry over TCP)");
  dropped_ = registry->GetCounter("nines_dns_dropped_total",
                                  "Packets not answered (shorter than a header, or a response)");
  tcp_connections_ = registry->GetGauge("nines_dns_tcp_connections", "Open TCP client connections");
}

DnsMetrics::RegionSeries DnsMetrics::ForRegions(const AnswerPolicy& policy) {
  RegionSeries s;
  const auto& regions = policy.regions();
  for (const RegionSpec& r : regions) {
    s.answers.push_back(registry_->GetCounter("nines_dns_answers_total",
                                              "Policy answers, by the region answering",
                                              {{"region", r.name}}));
  }
  for (const RegionSpec& from : regions) {
    for (const RegionSpec& to : regions) {
      s.failovers.push_back(registry_->GetCounter(
          "nines_dns_failovers_total", "Answers from a region other than the client's own",
          {{"from", from.name}, {"to", to.name}}));
    }
  }
  return s;
}

void DnsMetrics::Count(const ResponseInfo& info, const RegionSeries& regions) {
  queries_[TypeSlot(info.qtype)]->Add();
  int slot = 7;
  for (size_t i = 0; i < std::size(kRcodes); ++i) {
    if (kRcodes[i] == info.rcode) slot = static_cast<int>(i);
  }
  responses_[slot]->Add();
  if (info.truncated) truncated_->Add();
  if (!info.used_policy) return;
  const PolicyAnswer& p = info.policy;
  if (p.fail_open) fail_open_->Add();
  if (p.region >= 0 && p.region < static_cast<int>(regions.answers.size())) {
    regions.answers[p.region]->Add();
    if (p.failover && p.home_region >= 0) {
      size_t n = regions.answers.size();
      regions.failovers[p.home_region * n + p.region]->Add();
    }
  }
}

}  // namespace nines::dns
