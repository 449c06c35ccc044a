// CrowdSurge: a second LoadEngine (crowd mode, no keep-alive) on its own
// thread, a sampler of the lbs' memory, and the capacity probe before it.
#include "drill/crowd.h"

#include <asio/executor_work_guard.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include "base/clock.h"

namespace nines::drill {

namespace {

constexpr uint64_t kMaxCrowdUsers = 200'000;

// The i-th crowd user's address: 127.100.0.1 upwards, never .0 or .255,
// clear of the blueprint's 127.0.N.x.
std::string CrowdAddress(uint64_t i) {
  return "127." + std::to_string(100 + i / (254 * 254)) + "." + std::to_string(i / 254 % 254 + 1) +
         "." + std::to_string(i % 254 + 1);
}

}  // namespace

CrowdPlan PlanCrowd(const ClusterState& state, const std::vector<std::string>& dns_servers,
                    const std::string& zone, const std::string& subnet) {
  CrowdPlan plan;
  plan.dns_servers = dns_servers;
  plan.zone = zone;
  plan.subnet = subnet;
  for (const NodeState* lb : state.OfKind("lb")) {
    if (!state.regions.empty() && lb->region == state.regions[0].name) {
      plan.lb_pids.push_back(lb->pid);
    }
  }
  return plan;
}

int64_t ResidentKb(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

CrowdSurge::~CrowdSurge() {
  Stop();
}

Status CrowdSurge::Start(const CrowdPlan& plan) {
  plan_ = plan;
  resolver_ = std::make_unique<RegionResolver>(plan.dns_servers, plan.zone,
                                               std::vector<std::string>{plan.subnet});
  if (Status s = resolver_->ResolveAll(SteadyClock::Instance().NowMillis()); !s.ok()) {
    return Status::IoError("crowd: DNS: " + s.message());
  }
  std::vector<std::string> answer = resolver_->Addresses(0);
  for (int pid : plan.lb_pids) {
    figures_.lb_rss_before_kb = std::max(figures_.lb_rss_before_kb, ResidentKb(pid));
  }
  figures_.capacity_per_s = ProbeCapacity(answer[0], plan.lb_port, 1000);
  figures_.offered_per_s = plan.rate > 0 ? plan.rate : plan.multiple * figures_.capacity_per_s;
  if (figures_.offered_per_s < 1) {
    return Status::FailedPrecondition("crowd: the capacity probe got no 2xx");
  }
  int64_t start = LoadEngine::NowNanos();
  int64_t held = std::max<int64_t>(plan.held_ms - 1000, 1000);  // the probe took a second
  uint64_t requests = static_cast<uint64_t>(figures_.offered_per_s * held / 1000.0);
  figures_.users = std::min(requests, kMaxCrowdUsers);
  std::vector<SimUser> users;
  users.reserve(figures_.users);
  for (uint64_t i = 0; i < figures_.users; ++i) users.push_back({CrowdAddress(i), 0});

  timeline_ = std::make_unique<Timeline>(plan.timeline_seconds);
  io_ = std::make_unique<asio::io_context>();
  LoadOptions options;
  options.crowd = true;
  options.max_idle_per_user = 0;  // a user, a connection
  options.lb_port = plan.lb_port;
  engine_ =
      std::make_unique<LoadEngine>(*io_, *resolver_, *timeline_, plan.run_start_nanos, options);
  engine_->Start(LoadSchedule(figures_.offered_per_s, start, held * 1'000'000), std::move(users));
  surge_start_ms_ = (start - plan.run_start_nanos) / 1'000'000;
  surge_end_ms_ = surge_start_ms_ + held;
  io_thread_ = std::thread([io = io_.get()] {
    auto work = asio::make_work_guard(*io);
    io->run();
  });
  sampler_ = std::thread([this] {
    while (!stop_sampling_) {
      int64_t rss = 0;
      for (int pid : plan_.lb_pids) rss = std::max(rss, ResidentKb(pid));
      if (rss > rss_peak_kb_) rss_peak_kb_ = rss;
      resolver_->RefreshDue(SteadyClock::Instance().NowMillis());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  return Status::Ok();
}

void CrowdSurge::Stop() {
  if (!engine_ || stopped_) return;
  stopped_ = true;
  engine_->StopSending();
  int64_t deadline =
      SteadyClock::Instance().NowMillis() + 6000;  // the request timeout, and a margin
  while (!engine_->Idle() && SteadyClock::Instance().NowMillis() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  io_->stop();
  io_thread_.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  stop_sampling_ = true;
  sampler_.join();
  for (int pid : plan_.lb_pids) {
    figures_.lb_rss_after_kb = std::max(figures_.lb_rss_after_kb, ResidentKb(pid));
  }
}

bool CrowdSurge::TurnedAway() const {
  if (!engine_) return false;
  const LoadCounters& c = engine_->counters();
  return c.rate_limited > 0 || c.shed > 0;
}

CrowdFigures CrowdSurge::Figures(const Timeline& regular) const {
  CrowdFigures f = figures_;
  if (!engine_) return f;
  const LoadCounters& c = engine_->counters();
  f.ok = c.ok;
  f.rate_limited = c.rate_limited;
  f.shed = c.shed;
  f.timeouts = c.timeouts;
  f.no_response = c.no_response;
  f.not_sent = c.refused_by_client;
  f.other_failed = c.failed - std::min<uint64_t>(c.failed, c.shed + c.timeouts + c.no_response);
  f.intended = f.ok + f.rate_limited + c.failed + f.not_sent;
  LatencyHistogram crowd = timeline_->TotalLatency();
  f.p50_ms = crowd.Percentile(50) / 1000;
  f.p99_ms = crowd.Percentile(99) / 1000;
  LatencyHistogram during;
  for (int64_t s = surge_start_ms_ / 1000; s <= surge_end_ms_ / 1000 && s < regular.seconds();
       ++s) {
    during.Merge(regular.second(static_cast<int>(s)).latency);
  }
  f.regular_p99_ms = during.Percentile(99) / 1000;
  f.lb_rss_peak_kb = std::max(rss_peak_kb_.load(), f.lb_rss_before_kb);
  return f;
}

}  // namespace nines::drill
