// RunDrill: the sequence of a drill run. Threads: the event loop (load), the
// resolver (DNS per TTL), the progress printer, and this one (faults,
// detection polling every 100 ms, read-back, report).
#include "drill/driver.h"

#include <unistd.h>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/config.h"
#include "drill/cluster_state.h"
#include "drill/crowd.h"
#include "drill/fault_action.h"
#include "drill/fault_schedule.h"
#include "drill/load_engine.h"
#include "drill/read_back.h"
#include "drill/report.h"
#include "drill/timeline.h"
#include "drill/up_child.h"
#include "http/client.h"

namespace nines::drill {

namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) {
  g_interrupted = true;
}

void SleepMs(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Sleeps until `until_ms` (steady), waking for interruption.
void SleepUntil(int64_t until_ms) {
  while (!g_interrupted && SteadyClock::Instance().NowMillis() < until_ms)
    SleepMs(std::min<int64_t>(50, until_ms - SteadyClock::Instance().NowMillis()));
}

// Splits "http://H:P/..." or "H:P" into "H:P"; "" if malformed.
std::string HostPortOfUrl(const std::string& url) {
  std::string s = url;
  if (s.rfind("http://", 0) == 0) s = s.substr(7);
  size_t slash = s.find('/');
  if (slash != std::string::npos) s = s.substr(0, slash);
  if (s.find(':') == std::string::npos) return "";
  return s;
}

struct Api {
  std::string host_port;

  std::optional<ClusterState> State(std::string* error) const {
    http::ClientResponse r =
        http::FetchAddress(host_port, "GET", "/api/state", "", http::ClientOptions().Timeout(2000));
    if (!r.ok) {
      *error = "GET /api/state: " + r.error;
      return std::nullopt;
    }
    if (r.status != 200) {
      *error = "GET /api/state: status " + std::to_string(r.status);
      return std::nullopt;
    }
    return ParseClusterState(r.body, error);
  }

  // POST path; "" on 2xx, else the error text the API gave (409 when the
  // target is not in a state the action applies to, e.g. kill of a stopped node).
  std::string Post(const std::string& path) const {
    http::ClientResponse r =
        http::FetchAddress(host_port, "POST", path, "{}", http::ClientOptions().Timeout(5000));
    if (!r.ok) return "POST " + path + ": " + r.error;
    if (r.status >= 200 && r.status < 300) return "";
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    std::string msg = j.is_object() && j.contains("error") && j["error"].is_string()
                          ? j["error"].get<std::string>()
                          : r.body.substr(0, 200);
    return "POST " + path + ": " + std::to_string(r.status) + " " + msg;
  }
};

// The lb admin /status lists the app server as down.
bool LbMarksDown(const std::string& admin, const std::string& app_address) {
  http::ClientResponse r =
      http::FetchAddress(admin, "GET", "/status", "", http::ClientOptions().Timeout(500));
  if (!r.ok || r.status != 200) return false;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("servers") || !j["servers"].is_array()) return false;
  for (const auto& s : j["servers"]) {
    if (s.value("address", std::string()) == app_address) {
      std::string st = s.value("state", std::string());
      return st == "down";
    }
  }
  return false;
}

// The dashboard address a blueprint file sets (`dashboard = "H:P"`), or "".
std::string DashboardOf(const std::string& blueprint) {
  if (blueprint.empty()) return "";
  ConfigErrors errors;
  std::optional<ConfigValue> root = LoadConfigFile(blueprint, &errors);
  if (!root) return "";
  const ConfigEntry* e = root->Find("dashboard");
  if (!e || e->value.type != ConfigValue::Type::kString) return "";
  return e->value.string_value;
}

struct Progress {
  std::mutex mu;
  std::string fault;  // what is broken right now
};

}  // namespace

int RunDrill(const DrillOptions& o) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::string error;
  auto kinds = ParseFaultList(o.faults, &error);
  if (!kinds) {
    std::fprintf(stderr, "nines drill: %s\n", error.c_str());
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.report_dir, ec);
  if (ec) {
    std::fprintf(stderr, "nines drill: cannot create %s: %s\n", o.report_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }

  // 1. The blueprint: a running one (--up) or our own child.
  UpChild child;
  std::string dashboard = DashboardOf(o.blueprint);
  if (dashboard.empty()) dashboard = "127.0.0.1:9900";
  Api api{HostPortOfUrl(o.up_url.empty() ? dashboard : o.up_url)};
  if (api.host_port.empty()) {
    std::fprintf(stderr, "nines drill: --up: expected http://HOST:PORT, got '%s'\n",
                 o.up_url.c_str());
    return 2;
  }
  if (o.up_url.empty()) {
    std::string ignored;
    if (api.State(&ignored)) {
      std::fprintf(stderr,
                   "nines drill: something already answers at %s (a `nines up`?); pass --up "
                   "http://%s to drill it, or stop it first\n",
                   api.host_port.c_str(), api.host_port.c_str());
      return 1;
    }
    std::string run_dir = o.report_dir + "/run";
    std::string log = o.report_dir + "/up.log";
    std::string err = child.Start(run_dir, o.blueprint, log);
    if (!err.empty()) {
      std::fprintf(stderr, "nines drill: %s\n", err.c_str());
      return 1;
    }
    std::printf("drill: started `nines up --fresh --dir %s%s%s` (pid %d, log %s)\n",
                run_dir.c_str(), o.blueprint.empty() ? "" : " ", o.blueprint.c_str(),
                static_cast<int>(child.pid()), log.c_str());
  }
  std::fflush(stdout);

  // 2. Ready: every node running, a store leader, DNS answering for every
  // region, and every region's lb passing its /healthz.
  int64_t ready_deadline =
      SteadyClock::Instance().NowMillis() + int64_t{o.startup_timeout_s} * 1000;
  ClusterState state;
  std::vector<std::string> dns_servers;
  std::vector<std::string> subnets;
  std::string not_ready = "no answer from the up API yet";
  std::unique_ptr<RegionResolver> resolver;
  std::string zone;
  while (true) {
    if (g_interrupted) {
      std::fprintf(stderr, "drill: interrupted while waiting for the blueprint\n");
      return 1;
    }
    if (o.up_url.empty() && !child.Running()) {
      std::fprintf(stderr, "drill: `nines up` exited early; see %s/up.log\n", o.report_dir.c_str());
      return 1;
    }
    if (SteadyClock::Instance().NowMillis() > ready_deadline) {
      std::fprintf(stderr, "drill: the blueprint was not ready within %d s: %s\n",
                   o.startup_timeout_s, not_ready.c_str());
      return 1;
    }
    std::string err;
    auto s = api.State(&err);
    if (!s) {
      not_ready = err;
    } else if (std::string why = s->NotReadyReason(); !why.empty()) {
      not_ready = why;
    } else {
      dns_servers.clear();
      for (const NodeState* n : s->OfKind("dns")) dns_servers.push_back(n->address);
      subnets.clear();
      for (size_t i = 0; i < s->regions.size(); ++i) {
        subnets.push_back(ClientSubnetOf(s->regions[i], i));
      }
      zone = !o.zone.empty() ? o.zone : !s->zone.empty() ? s->zone : "shop.test.";
      resolver = std::make_unique<RegionResolver>(dns_servers, zone, subnets);
      bool lbs_ok = true;
      for (const NodeState* lb : s->OfKind("lb")) {
        http::ClientResponse r = http::FetchAddress(lb->address, "GET", "/healthz", "",
                                                    http::ClientOptions().Timeout(1000));
        if (!r.ok || r.status != 200) {
          lbs_ok = false;
          not_ready = lb->name + " /healthz: " + (r.ok ? std::to_string(r.status) : r.error);
          break;
        }
      }
      if (dns_servers.empty()) {
        not_ready = "no DNS server in the blueprint";
      } else if (lbs_ok && resolver->ResolveAll(SteadyClock::Instance().NowMillis(), &err)) {
        state = *s;
        break;
      } else if (lbs_ok) {
        not_ready = "DNS: " + err;
      }
    }
    SleepMs(250);
  }
  std::printf("drill: blueprint ready: %zu nodes, %zu regions, store leader %s\n",
              state.nodes.size(), state.regions.size(), state.leader.c_str());

  // 3. Users: N per region with addresses PREFIX.100.. ; the spike client
  // PREFIX.200. Each is its own stub resolver with its region's subnet.
  std::vector<SimUser> users;
  std::vector<std::string> source_ips;
  std::vector<std::string> user_subnets;
  for (size_t r = 0; r < state.regions.size(); ++r) {
    std::string prefix = state.regions[r].prefix.empty() ? "127.0." + std::to_string(r + 1)
                                                         : state.regions[r].prefix;
    for (int u = 0; u < o.users_per_region; ++u) {
      users.push_back({prefix + "." + std::to_string(100 + u), user_subnets.size()});
      user_subnets.push_back(subnets[r]);
      source_ips.push_back(users.back().source_ip);
    }
  }
  std::string spike_prefix = state.regions[0].prefix.empty() ? "127.0.1" : state.regions[0].prefix;
  SimUser spike_user{spike_prefix + ".200", user_subnets.size()};
  user_subnets.push_back(subnets[0]);
  resolver = std::make_unique<RegionResolver>(dns_servers, zone, user_subnets);
  if (!resolver->ResolveAll(SteadyClock::Instance().NowMillis(), &error)) {
    std::fprintf(stderr, "drill: DNS: %s\n", error.c_str());
    return 1;
  }

  // 4. Load and faults.
  int64_t duration_ms = static_cast<int64_t>(o.duration_s * 1000);
  std::vector<PlannedFault> plan = PlanFaults(*kinds, duration_ms);
  Timeline timeline(static_cast<int>((duration_ms + 999) / 1000));
  asio::io_context io;
  int64_t start_nanos = LoadEngine::NowNanos() + 200'000'000;
  int64_t start_ms = start_nanos / 1'000'000;
  LoadOptions load_options;
  load_options.run_id = "drill-" + std::to_string(WallMillis());
  load_options.reresolve_on_failure = o.reresolve_on_failure;
  LoadEngine engine(io, *resolver, timeline, start_nanos, load_options);
  engine.Start(LoadSchedule(o.rate, start_nanos, duration_ms * 1'000'000), users);
  auto work = asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  std::atomic<bool> helpers_stop{false};
  std::thread resolver_thread([&] {
    while (!helpers_stop) {
      resolver->RefreshDue(SteadyClock::Instance().NowMillis());
      SleepMs(50);
    }
  });
  Progress progress;
  std::thread progress_thread([&] {
    int64_t next = start_ms + 1000;
    uint64_t last_total = 0;
    while (!helpers_stop) {
      SleepUntil(next);
      if (helpers_stop || g_interrupted) break;
      const LoadCounters& c = engine.counters();
      uint64_t total = c.ok + c.failed + c.rate_limited + c.refused_by_client;
      std::string fault;
      {
        std::lock_guard lock(progress.mu);
        fault = progress.fault;
      }
      std::printf(
          "t=%3llds  %4llu req/s  ok %llu  failed %llu  429 %llu  spike-429 %llu  "
          "in-flight %llu  writes %llu%s%s\n",
          static_cast<long long>((next - start_ms) / 1000),
          static_cast<unsigned long long>(total - last_total),
          static_cast<unsigned long long>(c.ok.load()),
          static_cast<unsigned long long>(c.failed.load()),
          static_cast<unsigned long long>(c.rate_limited.load()),
          static_cast<unsigned long long>(c.spike_rate_limited.load()),
          static_cast<unsigned long long>(c.in_flight.load()),
          static_cast<unsigned long long>(c.acknowledged.load()), fault.empty() ? "" : "  | ",
          fault.c_str());
      std::fflush(stdout);
      last_total = total;
      next += 1000;
    }
  });

  DrillReport report;
  report.blueprint = o.blueprint.empty() ? "built-in" : o.blueprint;
  report.up_url = "http://" + api.host_port;
  report.duration_s = o.duration_s;
  report.rate = o.rate;
  report.slo_percent = o.slo_percent;
  report.faults_requested = o.faults;
  report.started_wall_ms = WallMillis();
  bool is_root = geteuid() == 0;
  // Crowd surges by their fault's index in report.faults.
  std::vector<std::pair<size_t, std::unique_ptr<CrowdSurge>>> crowds;

  for (const PlannedFault& planned : plan) {
    SleepUntil(start_ms + planned.start_ms);
    if (g_interrupted) break;
    FaultResult f;
    f.kind = planned.kind;
    f.start_ms = planned.start_ms;
    f.end_ms = planned.end_ms;
    f.window_end_ms = planned.window_end_ms;
    std::string err;
    auto now_state = api.State(&err);
    FaultAction action;
    f.undone = true;  // until an undo fails
    if (now_state) {
      action = PlanFaultAction(planned.kind, *now_state);
    } else {
      action.error = err;
    }
    f.target = action.target;
    f.detection_measured = action.detection != Detection::kNone;
    if (!action.ok) {
      f.skipped = true;
      f.notice = action.error;
    } else if (planned.kind == FaultKind::kPartition && !is_root) {
      f.skipped = true;
      f.notice = "skipped: cutting a node off with iptables needs root";
    } else if (planned.kind == FaultKind::kSpike) {
      int64_t spike_start = LoadEngine::NowNanos();
      int64_t held = (planned.end_ms - planned.start_ms) * 1'000'000;
      engine.StartSpike(LoadSchedule(o.rate * 10, spike_start, held), spike_user);
    } else if (planned.kind == FaultKind::kCrowd) {
      CrowdPlan plan = PlanCrowd(*now_state, dns_servers, zone, subnets[0]);
      plan.multiple = o.crowd_multiple;
      plan.rate = o.crowd_rate;
      plan.held_ms = planned.end_ms - planned.start_ms;
      plan.run_start_nanos = start_nanos;
      plan.timeline_seconds = timeline.seconds();
      crowds.emplace_back(report.faults.size(), std::make_unique<CrowdSurge>());
      std::string err = crowds.back().second->Start(plan);
      if (!err.empty()) {
        f.skipped = true;
        f.notice = err;
      }
    } else {
      std::string post = api.Post(action.inject_path);
      if (!post.empty()) {
        f.skipped = true;
        f.notice = post;
      }
    }
    int64_t injected_at = SteadyClock::Instance().NowMillis();
    f.start_ms = injected_at - start_ms;
    std::string label = std::string(FaultName(f.kind)) + (f.target.empty() ? "" : " " + f.target);
    {
      std::lock_guard lock(progress.mu);
      progress.fault = f.skipped ? "" : label + " (held)";
    }
    if (f.skipped) {
      std::printf("drill: fault %s skipped: %s\n", label.c_str(), f.notice.c_str());
    } else {
      std::printf("drill: fault %s injected\n", label.c_str());
    }
    std::fflush(stdout);
    // Hold the fault, polling every 100 ms for the system noticing it.
    int64_t undo_at = start_ms + planned.end_ms;
    uint64_t spike_429_before = engine.counters().spike_rate_limited;
    while (!f.skipped && !g_interrupted && SteadyClock::Instance().NowMillis() < undo_at) {
      if (f.detected_after_ms < 0) {
        bool detected = false;
        switch (action.detection) {
          case Detection::kNone:
            break;
          case Detection::kLbMarksDown:
            detected = LbMarksDown(action.lb_admin, action.app_address);
            break;
          case Detection::kLeaderChanged: {
            std::string e;
            auto st = api.State(&e);
            detected = st && !st->leader.empty() && st->leader != action.old_leader;
            break;
          }
          case Detection::kDnsMovesRegion:
          case Detection::kDnsDropsLb: {
            DnsAnswer a = QueryApex(dns_servers[0], zone, subnets[action.region_index], 300);
            if (!a.ok && dns_servers.size() > 1) {
              a = QueryApex(dns_servers[1], zone, subnets[action.region_index], 300);
            }
            detected = a.ok && DnsDetects(action, a.addresses);
            break;
          }
          case Detection::kFirstSpike429:
            detected = engine.counters().spike_rate_limited > spike_429_before;
            break;
          case Detection::kCrowdTurnedAway:
            detected = crowds.back().second->TurnedAway();
            break;
        }
        if (detected) {
          f.detected_after_ms = SteadyClock::Instance().NowMillis() - injected_at;
          f.detected_by = DetectionText(action.detection);
          std::printf("drill: %s detected after %lld ms (%s)\n", label.c_str(),
                      static_cast<long long>(f.detected_after_ms), f.detected_by.c_str());
          std::fflush(stdout);
        }
      }
      SleepMs(100);
    }
    if (!f.skipped && action.detection != Detection::kNone && f.detected_after_ms < 0) {
      f.detected_by = std::string("not seen while held: ") + DetectionText(action.detection);
    }
    if (planned.kind == FaultKind::kCrowd && !f.skipped) {
      crowds.back().second->Stop();  // its undo: stop sending
      std::string e;
      if (auto after = api.State(&e)) {
        int restarts = 0;
        for (const NodeState& n : after->nodes) restarts += n.restarts;
        for (const NodeState& n : now_state->nodes) restarts -= n.restarts;
        crowds.back().second->SetRestarts(std::max(restarts, 0));
      }
    }
    // Undo it (retried: the API may be busy restarting things).
    if (!f.skipped && !action.undo_path.empty()) {
      std::string post;
      for (int attempt = 0; attempt < 5; ++attempt) {
        post = api.Post(action.undo_path);
        if (post.empty()) break;
        SleepMs(200);
      }
      if (!post.empty()) {
        f.undone = false;
        f.notice = "undo failed: " + post;
        std::printf("drill: %s: %s\n", label.c_str(), f.notice.c_str());
      }
    }
    f.end_ms = SteadyClock::Instance().NowMillis() - start_ms;
    if (!f.skipped) std::printf("drill: fault %s undone\n", label.c_str());
    std::fflush(stdout);
    {
      std::lock_guard lock(progress.mu);
      progress.fault.clear();
    }
    report.faults.push_back(f);
  }
  // Windows (to the next fault really injected) are set by ComputeFaultFigures.
  // Let the load finish, then the requests still in flight.
  SleepUntil(start_ms + duration_ms);
  if (g_interrupted) {
    report.interrupted = true;
    report.notices.push_back("interrupted: the run was cut short");
    engine.StopSending();
  }
  int64_t drain_deadline =
      SteadyClock::Instance().NowMillis() + load_options.request_timeout_ms + 2000;
  while (!engine.Idle() && SteadyClock::Instance().NowMillis() < drain_deadline) SleepMs(50);
  helpers_stop = true;
  progress_thread.join();
  engine.StopSending();
  work.reset();
  io.stop();
  io_thread.join();
  resolver_thread.join();
  for (auto& [index, crowd] : crowds) {
    crowd->Stop();
    report.faults[index].crowd = crowd->Figures(timeline);
  }
  for (const std::string& note : engine.Notes()) report.notices.push_back("client: " + note);
  if (resolver->failures() > 0) {
    report.notices.push_back("DNS: " + std::to_string(resolver->failures()) + " of " +
                             std::to_string(resolver->queries()) + " lookups got no answer");
  }

  // 5. Every acknowledged order, read back through every region's lb.
  std::vector<AcknowledgedWrite> ids = engine.Acknowledged();
  std::printf("drill: reading %zu acknowledged orders back through every region's lb\n",
              ids.size());
  std::fflush(stdout);
  ReadBackOptions rb;
  if (auto s = api.State(&error)) state = *s;
  for (const NodeState* lb : state.OfKind("lb")) rb.lbs.push_back(lb->address);
  rb.source_ips = source_ips;
  report.writes = ReadBack(ids, rb);
  // A 2xx to a POST without an id: acknowledged, never checkable.
  uint64_t without_id = engine.counters().acknowledged_without_id;
  report.writes.without_id = without_id;
  report.writes.acknowledged += without_id;
  report.writes.unverifiable += without_id;

  // 6. The report.
  nlohmann::json j = ReportToJson(report, timeline);
  std::string err = WriteReportFiles(o.report_dir, j);
  std::printf("\n%s", RenderTable(j).c_str());
  if (!err.empty()) {
    std::fprintf(stderr, "drill: %s\n", err.c_str());
  } else {
    std::printf("report: %s/report.html, %s/report.json\n", o.report_dir.c_str(),
                o.report_dir.c_str());
  }
  std::fflush(stdout);
  if (o.up_url.empty()) {
    int status = child.Stop(30000);
    if (status != 0) std::fprintf(stderr, "drill: `nines up` exited with status %d\n", status);
  }
  return j.value("passed", false) && err.empty() ? 0 : 1;
}

}  // namespace nines::drill
