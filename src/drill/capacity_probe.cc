// The capacity probes: the quick closed-loop probe, fixed-rate steps on a
// LoadEngine of their own, and the searches (see capacity_probe.h).
#include "drill/capacity_probe.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "http/client.h"

namespace nines::drill {

namespace {

constexpr int kProbeClients = 8;
constexpr int kUsersPerRegion = 250;
// Each user sends at most this many requests/s, below the blueprint's
// per-client limit (50/s): the search measures the service, not that limit.
constexpr double kRatePerUser = 40;

void SleepMs(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// The search for one target (`users`), a line per step.
double Search(const std::string& label, RegionResolver& resolver, const std::vector<SimUser>& users,
              double start, const CapacityPlan& plan, const std::atomic<bool>& interrupted,
              bool* capped) {
  double max_rate = std::min(plan.max_rate, kRatePerUser * static_cast<double>(users.size()));
  CapacitySearch search(start, max_rate, 0.1, plan.max_steps);
  for (double rate = search.NextRate(); rate > 0 && !interrupted; rate = search.NextRate()) {
    // Settled: what the last step ejected, queued or left behind is back.
    int64_t settle_deadline = SteadyClock::Instance().NowMillis() + 20000;
    std::string why = NotSettledReason(plan);
    if (!why.empty()) {
      std::printf("capacity: %s: waiting for the blueprint to settle: %s\n", label.c_str(),
                  why.c_str());
      std::fflush(stdout);
    }
    while (!why.empty() && !interrupted && SteadyClock::Instance().NowMillis() < settle_deadline) {
      SleepMs(200);
      why = NotSettledReason(plan);
    }
    if (!why.empty())
      std::printf("capacity: %s: not settled after 20 s (%s); going on\n", label.c_str(),
                  why.c_str());
    int step_ms = StepMillis(rate, plan.step_ms);
    std::printf("capacity: %s: step %zu: %.0f requests/s for %.1f s ...", label.c_str(),
                search.steps().size() + 1, rate, step_ms / 1000.0);
    std::fflush(stdout);
    CapacityStep step =
        RunCapacityStep(resolver, users, plan.lb_port, rate, step_ms, plan.criteria, interrupted);
    if (interrupted) break;
    search.Record(step);
    std::printf(" p99 %.0f ms, %.2f%% not 2xx (%llu of %llu%s): %s\n", step.p99_ms,
                step.failed_percent(), static_cast<unsigned long long>(step.not_ok),
                static_cast<unsigned long long>(step.requests),
                step.unfinished == 0
                    ? ""
                    : (", " + std::to_string(step.unfinished) + " unfinished").c_str(),
                step.sustained ? "sustained" : "NOT sustained");
    std::fflush(stdout);
  }
  std::printf("capacity: %s: %.0f requests/s%s\n", label.c_str(), search.capacity(),
              search.capped() ? " (the search's ceiling: a lower bound)" : "");
  std::fflush(stdout);
  if (search.capped()) *capped = true;
  return search.capacity();
}

}  // namespace

double ProbeCapacity(const std::string& lb_host, uint16_t port, int probe_ms) {
  std::atomic<uint64_t> ok{0};
  int64_t end = SteadyClock::Instance().NowMillis() + probe_ms;
  std::vector<std::thread> clients;
  clients.reserve(kProbeClients);
  for (int t = 0; t < kProbeClients; ++t) {
    clients.emplace_back([&, t] {
      for (int k = 0; SteadyClock::Instance().NowMillis() < end; ++k) {
        // 127.99.T.K: a new address per request, clear of the per-client limit.
        std::string source = "127.99." + std::to_string(t + 1) + "." + std::to_string(k % 254 + 1);
        http::ClientResponse r = http::FetchAddress(
            lb_host + ":" + std::to_string(port), "GET", "/orders?limit=1", "",
            http::ClientOptions().Timeout(1000).Source(source).Host("shop.test"));
        if (r.ok && r.status >= 200 && r.status < 300) ++ok;
      }
    });
  }
  for (std::thread& c : clients) c.join();
  return static_cast<double>(ok.load()) * 1000.0 / std::max(probe_ms, 1);
}

int StepMillis(double rate, int step_ms) {
  double for_1000 = rate > 0 ? 1000.0 * 1000.0 / rate : 3.0 * step_ms;
  return static_cast<int>(std::clamp(for_1000, static_cast<double>(step_ms), 3.0 * step_ms));
}

std::string NotSettledReason(const CapacityPlan& plan) {
  for (const std::string& admin : plan.lb_admins) {
    http::ClientResponse r =
        http::FetchAddress(admin, "GET", "/status", "", http::ClientOptions().Timeout(500));
    auto j = nlohmann::json::parse(r.ok ? r.body : "", nullptr, false);
    if (!j.is_object() || !j.contains("servers") || !j["servers"].is_array()) {
      return "lb " + admin + " /status: no answer";
    }
    for (const auto& server : j["servers"]) {
      if (server.value("state", std::string()) != "up") {
        return "lb " + admin + " lists " + server.value("address", std::string("?")) + " " +
               server.value("state", std::string("?"));
      }
    }
    if (j.contains("queue") && j["queue"].is_object() && j["queue"].value("depth", 0) > 0) {
      return "lb " + admin + " has a queue";
    }
  }
  return plan.not_settled ? plan.not_settled() : "";
}

std::vector<SimUser> CapacityUsers(size_t region, size_t regions) {
  std::vector<SimUser> users;
  for (size_t r = 0; r < regions; ++r) {
    if (r != region && region < regions) continue;
    for (int k = 1; k <= kUsersPerRegion; ++k) {
      users.push_back({"127.97." + std::to_string(r + 1) + "." + std::to_string(k), r});
    }
  }
  return users;
}

CapacityStep RunCapacityStep(RegionResolver& resolver, const std::vector<SimUser>& users,
                             uint16_t lb_port, double rate, int step_ms,
                             const CapacityCriteria& criteria,
                             const std::atomic<bool>& interrupted) {
  asio::io_context io;
  Timeline timeline((step_ms + 999) / 1000);
  int64_t start = LoadEngine::NowNanos() + 50'000'000;
  LoadOptions options;
  options.run_id = "capacity-" + std::to_string(WallMillis()) + "-" + std::to_string(rate);
  options.lb_port = lb_port;
  options.request_timeout_ms = 2000;  // far past any objective; keeps the drain short
  LoadEngine engine(io, resolver, timeline, start, options);
  LoadSchedule schedule(rate, start, int64_t{step_ms} * 1'000'000);
  engine.Start(schedule, users);
  auto work = asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  int64_t end_ms = start / 1'000'000 + step_ms;
  while (!interrupted && SteadyClock::Instance().NowMillis() < end_ms) {
    resolver.RefreshDue(SteadyClock::Instance().NowMillis());
    SleepMs(50);
  }
  if (interrupted) engine.StopSending();
  int64_t drain = SteadyClock::Instance().NowMillis() + options.request_timeout_ms + 2000;
  while (!engine.Idle() && SteadyClock::Instance().NowMillis() < drain) SleepMs(20);
  engine.StopSending();
  work.reset();
  io.stop();
  io_thread.join();
  return StepFromTimeline(rate, schedule.total(), timeline, criteria);
}

CapacityFigures MeasureCapacity(const CapacityPlan& plan, const std::atomic<bool>& interrupted) {
  std::printf(
      "drill: measuring capacity: steps of %.1f s at fixed rates (the drill's load: half order "
      "creations, half reads), each region's through its own DNS answer, then the whole; a step "
      "is sustained at p99 <= %.0f ms with at most %g%% not 2xx\n",
      plan.step_ms / 1000.0, plan.criteria.latency_objective_ms, plan.criteria.max_failed_percent);
  std::fflush(stdout);
  CapacityFigures figures;
  figures.criteria = plan.criteria;
  std::vector<std::string> subnets;
  for (const CapacityRegion& r : plan.regions) subnets.push_back(r.subnet);
  RegionResolver resolver(plan.dns_servers, plan.zone, subnets);
  if (Status s = resolver.ResolveAll(SteadyClock::Instance().NowMillis()); !s.ok()) {
    std::printf("capacity: DNS: %s\n", s.message().c_str());
  }
  double strongest = 0;
  for (size_t i = 0; i < plan.regions.size() && !interrupted; ++i) {
    const CapacityRegion& r = plan.regions[i];
    // The first guess: what one of its lbs answers to closed-loop clients.
    double guess = r.lb_host.empty() ? 100 : ProbeCapacity(r.lb_host, plan.lb_port, 1000);
    std::printf("capacity: %s: first guess %.0f requests/s (1 s closed-loop probe of %s)\n",
                r.name.c_str(), guess, r.lb_host.c_str());
    std::fflush(stdout);
    double per_s = Search(r.name, resolver, CapacityUsers(i, plan.regions.size()),
                          std::max(guess, 20.0), plan, interrupted, &figures.capped);
    figures.regions.push_back({r.name, per_s});
    strongest = std::max(strongest, per_s);
  }
  if (!interrupted) {
    // From the strongest region's figure: the whole shares one store, and a
    // first step far above its capacity leaves queues behind.
    figures.whole_per_s =
        Search("whole blueprint", resolver, CapacityUsers(plan.regions.size(), plan.regions.size()),
               std::max(strongest, 20.0), plan, interrupted, &figures.capped);
  }
  figures.measured_wall_ms = WallMillis();
  return figures;
}

}  // namespace nines::drill
