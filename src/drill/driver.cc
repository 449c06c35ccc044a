// RunDrill: the sequence of a drill run. Threads: the event loop (load), the
// resolver (DNS per TTL), the progress printer, and this one (faults,
// detection polling every 100 ms, read-back, report).
#include "drill/driver.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/config.h"
#include "base/secret.h"
#include "drill/capacity_run.h"
#include "drill/cluster_state.h"
#include "drill/crowd.h"
#include "drill/fault_action.h"
#include "drill/fault_schedule.h"
#include "drill/load_engine.h"
#include "drill/load_phase.h"
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
  std::string token;       // sent as Authorization: Bearer on POSTs
  std::string token_file;  // read on the first POST when `token` is empty

  std::string AuthorizationHeader() {
    if (token.empty() && !token_file.empty()) {
      std::string secret, warning;
      if (ReadSecretFile(token_file, "", &secret, &warning).ok()) token = secret;
    }
    return token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
  }

  Status State(ClusterState* out) const {
    http::ClientResponse r =
        http::FetchAddress(host_port, "GET", "/api/state", "", http::ClientOptions().Timeout(2000));
    if (!r.ok) return Status::IoError("GET /api/state: " + r.error);
    if (r.status != 200) {
      return Status::IoError("GET /api/state: status " + std::to_string(r.status));
    }
    return ParseClusterState(r.body, out);
  }

  // POST path; Ok on 2xx, else IoError with the error text the API gave (409
  // when the target is not in a state the action applies to, e.g. kill of a
  // stopped node).
  Status Post(const std::string& path, const std::string& body = "{}") {
    http::ClientOptions options = http::ClientOptions().Timeout(5000);
    options.headers = AuthorizationHeader();
    http::ClientResponse r = http::FetchAddress(host_port, "POST", path, body, options);
    if (!r.ok) return Status::IoError("POST " + path + ": " + r.error);
    if (r.status >= 200 && r.status < 300) return Status::Ok();
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    std::string msg = j.is_object() && j.contains("error") && j["error"].is_string()
                          ? j["error"].get<std::string>()
                          : r.body.substr(0, 200);
    return Status::IoError("POST " + path + ": " + std::to_string(r.status) + " " + msg);
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

// What the run's steps share: the options, the up API, the blueprint as it
// was when ready, the simulated users and the report being filled in.
struct DrillRun {
  explicit DrillRun(const DrillOptions& options) : o(options) {}

  const DrillOptions& o;
  std::vector<FaultKind> kinds;
  UpChild child;  // when the drill started its own `nines up`
  // --capacity without --up found a `nines up` already answering and uses it.
  bool attached = false;
  Api api;
  // Found when the blueprint is ready (step 2).
  ClusterState state;
  std::vector<std::string> dns_servers;
  std::vector<std::string> subnets;  // a client subnet per region
  std::string zone;
  std::unique_ptr<RegionResolver> resolver;
  // The simulated users (step 3).
  std::vector<SimUser> users;
  std::vector<std::string> source_ips;
  SimUser spike_user;
  DrillReport report;
};

// 1. The blueprint: a running one (--up) or our own child. Returns the exit
// status on failure, nullopt once the API's address is known (and our child
// started).
std::optional<int> StartBlueprint(DrillRun& run) {
  const DrillOptions& o = run.o;
  std::string dashboard = DashboardOf(o.blueprint);
  if (dashboard.empty()) dashboard = "127.0.0.1:9900";
  run.api.host_port = HostPortOfUrl(o.up_url.empty() ? dashboard : o.up_url);
  if (run.api.host_port.empty()) {
    std::fprintf(stderr, "nines drill: --up: expected http://HOST:PORT, got '%s'\n",
                 o.up_url.c_str());
    return 2;
  }
  run.api.token_file = o.admin_token_file;
  if (!o.up_url.empty() && o.admin_token_file.empty()) {
    if (const char* env = std::getenv("NINES_ADMIN_TOKEN")) run.api.token = env;
  }
  if (o.up_url.empty()) {
    if (o.admin_token_file.empty()) run.api.token_file = o.report_dir + "/run/conf/admin.token";
    ClusterState probe;
    if (o.capacity && run.api.State(&probe).ok()) {
      // Measuring capacity changes nothing: use the running one, so its
      // dashboard gets the figures.
      run.attached = true;
      if (o.admin_token_file.empty()) {
        run.api.token_file = "run/conf/admin.token";  // `nines up`'s default --dir
        if (const char* env = std::getenv("NINES_ADMIN_TOKEN")) run.api.token = env;
      }
      std::printf("drill: using the `nines up` answering at %s\n", run.api.host_port.c_str());
      std::fflush(stdout);
      return std::nullopt;
    }
    if (run.api.State(&probe).ok()) {
      std::fprintf(stderr,
                   "nines drill: something already answers at %s (a `nines up`?); pass --up "
                   "http://%s to drill it, or stop it first\n",
                   run.api.host_port.c_str(), run.api.host_port.c_str());
      return 1;
    }
    std::string run_dir = o.report_dir + "/run";
    std::string log = o.report_dir + "/up.log";
    bool gray = NeedsGrayFaults(run.kinds);
    if (Status started = run.child.Start(run_dir, o.blueprint, log, gray); !started.ok()) {
      std::fprintf(stderr, "nines drill: %s\n", started.message().c_str());
      return 1;
    }
    std::printf("drill: started `nines up --fresh --dir %s%s%s%s` (pid %d, log %s)\n",
                run_dir.c_str(), gray ? " --gray-faults" : "", o.blueprint.empty() ? "" : " ",
                o.blueprint.c_str(), static_cast<int>(run.child.pid()), log.c_str());
  }
  std::fflush(stdout);
  return std::nullopt;
}

// Why the blueprint `s` is not ready to drill yet, or "" when it is: every
// node running, a store leader, every region's lb passing its /healthz and
// DNS answering for every region. Sets the run's DNS view as it goes.
std::string NotReadyReason(DrillRun& run, const ClusterState& s) {
  if (std::string why = s.NotReadyReason(); !why.empty()) return why;
  run.dns_servers.clear();
  for (const NodeState* n : s.OfKind("dns")) run.dns_servers.push_back(n->address);
  run.subnets.clear();
  for (size_t i = 0; i < s.regions.size(); ++i) {
    run.subnets.push_back(ClientSubnetOf(s.regions[i], i));
  }
  const DrillOptions& o = run.o;
  run.zone = !o.zone.empty() ? o.zone : !s.zone.empty() ? s.zone : "shop.test.";
  run.resolver = std::make_unique<RegionResolver>(run.dns_servers, run.zone, run.subnets);
  std::string lb_failure;
  for (const NodeState* lb : s.OfKind("lb")) {
    http::ClientResponse r =
        http::FetchAddress(lb->address, "GET", "/healthz", "", http::ClientOptions().Timeout(1000));
    if (!r.ok || r.status != 200) {
      lb_failure = lb->name + " /healthz: " + (r.ok ? std::to_string(r.status) : r.error);
      break;
    }
  }
  if (run.dns_servers.empty()) return "no DNS server in the blueprint";
  if (!lb_failure.empty()) return lb_failure;
  if (Status dns = run.resolver->ResolveAll(SteadyClock::Instance().NowMillis()); !dns.ok()) {
    return "DNS: " + dns.message();
  }
  return "";
}

// 2. Ready: polls the up API until NotReadyReason says "", the deadline
// passes, our `nines up` exits or the run is interrupted. False on failure
// (said on stderr).
bool WaitUntilReady(DrillRun& run) {
  const DrillOptions& o = run.o;
  int64_t ready_deadline =
      SteadyClock::Instance().NowMillis() + int64_t{o.startup_timeout_s} * 1000;
  std::string not_ready = "no answer from the up API yet";
  while (true) {
    if (g_interrupted) {
      std::fprintf(stderr, "drill: interrupted while waiting for the blueprint\n");
      return false;
    }
    if (o.up_url.empty() && !run.attached && !run.child.Running()) {
      std::fprintf(stderr, "drill: `nines up` exited early; see %s/up.log\n", o.report_dir.c_str());
      return false;
    }
    if (SteadyClock::Instance().NowMillis() > ready_deadline) {
      std::fprintf(stderr, "drill: the blueprint was not ready within %d s: %s\n",
                   o.startup_timeout_s, not_ready.c_str());
      return false;
    }
    ClusterState state;
    Status got = run.api.State(&state);
    not_ready = got.ok() ? NotReadyReason(run, state) : got.message();
    if (not_ready.empty()) {
      run.state = std::move(state);
      break;
    }
    SleepMs(250);
  }
  std::printf("drill: blueprint ready: %zu nodes, %zu regions, store leader %s\n",
              run.state.nodes.size(), run.state.regions.size(), run.state.leader.c_str());
  return true;
}

// 3. Users: N per region with addresses PREFIX.100.. ; the spike client
// PREFIX.200. Each is its own stub resolver with its region's subnet.
bool MakeUsers(DrillRun& run) {
  const std::vector<RegionState>& regions = run.state.regions;
  std::vector<std::string> user_subnets;
  for (size_t r = 0; r < regions.size(); ++r) {
    std::string prefix =
        regions[r].prefix.empty() ? "127.0." + std::to_string(r + 1) : regions[r].prefix;
    for (int u = 0; u < run.o.users_per_region; ++u) {
      run.users.push_back({prefix + "." + std::to_string(100 + u), user_subnets.size()});
      user_subnets.push_back(run.subnets[r]);
      run.source_ips.push_back(run.users.back().source_ip);
    }
  }
  std::string spike_prefix = regions[0].prefix.empty() ? "127.0.1" : regions[0].prefix;
  run.spike_user = SimUser{spike_prefix + ".200", user_subnets.size()};
  user_subnets.push_back(run.subnets[0]);
  run.resolver = std::make_unique<RegionResolver>(run.dns_servers, run.zone, user_subnets);
  if (Status s = run.resolver->ResolveAll(SteadyClock::Instance().NowMillis()); !s.ok()) {
    std::fprintf(stderr, "drill: DNS: %s\n", s.message().c_str());
    return false;
  }
  return true;
}

// One planned fault while it runs: what was done, and what is found out.
struct HeldFault {
  FaultResult f;
  FaultAction action;
  std::optional<ClusterState> state_before;  // /api/state just before injecting
  // kLbMarksDown: the lb listed the server up since the injection (it was
  // up just before it). A server the lb already had down before the fault
  // must be seen up first: that down was not this fault's doing.
  bool lb_saw_up = true;
  CrowdSurge* crowd = nullptr;  // the crowd fault's surge
  std::string label;            // "FAULT TARGET"
  int64_t injected_at = 0;      // steady ms
};

// 4b. Injects `planned`: plans its action from /api/state, then starts the
// spike or the crowd or posts the fault to the up API. A fault that cannot
// be injected is kept, marked skipped, with the reason.
HeldFault InjectFault(DrillRun& run, LoadPhase& load, const PlannedFault& planned,
                      std::vector<std::pair<size_t, std::unique_ptr<CrowdSurge>>>& crowds) {
  HeldFault h;
  FaultResult& f = h.f;
  f.kind = planned.kind;
  f.start_ms = planned.start_ms;
  f.end_ms = planned.end_ms;
  f.window_end_ms = planned.window_end_ms;
  ClusterState before;
  Status got = run.api.State(&before);
  if (got.ok()) h.state_before = std::move(before);
  f.undone = true;  // until an undo fails
  if (h.state_before) {
    h.action = PlanFaultAction(planned.kind, *h.state_before, planned.end_ms - planned.start_ms);
  } else {
    h.action.error = got.message();
  }
  f.target = h.action.target;
  f.detection_measured = h.action.detection != Detection::kNone;
  if (!h.action.ok) {
    f.skipped = true;
    f.notice = h.action.error;
  } else if (planned.kind == FaultKind::kPartition && geteuid() != 0) {
    f.skipped = true;
    f.notice = "skipped: cutting a node off with iptables needs root";
  } else if (planned.kind == FaultKind::kSpike) {
    int64_t spike_start = LoadEngine::NowNanos();
    int64_t held = (planned.end_ms - planned.start_ms) * 1'000'000;
    load.engine().StartSpike(LoadSchedule(run.o.rate * 10, spike_start, held), run.spike_user);
  } else if (planned.kind == FaultKind::kCrowd) {
    CrowdPlan plan = PlanCrowd(*h.state_before, run.dns_servers, run.zone, run.subnets[0]);
    plan.multiple = run.o.crowd_multiple;
    plan.rate = run.o.crowd_rate;
    plan.held_ms = planned.end_ms - planned.start_ms;
    plan.run_start_nanos = load.start_nanos();
    plan.timeline_seconds = load.timeline().seconds();
    crowds.emplace_back(run.report.faults.size(), std::make_unique<CrowdSurge>());
    h.crowd = crowds.back().second.get();
    if (Status started = h.crowd->Start(plan); !started.ok()) {
      f.skipped = true;
      f.notice = started.message();
    }
  } else {
    if (h.action.detection == Detection::kLbMarksDown &&
        LbMarksDown(h.action.lb_admin, h.action.app_address)) {
      h.lb_saw_up = false;
      f.notice = "the lb already listed " + h.action.app_address +
                 " down just before the fault: detected only once seen up and down again";
    }
    Status post = run.api.Post(h.action.inject_path,
                               h.action.inject_body.empty() ? "{}" : h.action.inject_body);
    if (!post.ok()) {
      f.skipped = true;
      f.notice = post.message();
    }
  }
  h.injected_at = SteadyClock::Instance().NowMillis();
  f.start_ms = h.injected_at - load.start_ms();
  h.label = std::string(FaultName(f.kind)) + (f.target.empty() ? "" : " " + f.target);
  load.SetFault(f.skipped ? "" : h.label + " (held)");
  if (f.skipped) {
    std::printf("drill: fault %s skipped: %s\n", h.label.c_str(), f.notice.c_str());
  } else {
    std::printf("drill: fault %s injected\n", h.label.c_str());
  }
  std::fflush(stdout);
  return h;
}

// Whether the system has noticed the fault yet, as its action's detection
// says to look (spike_429_before: the spike's 429s when it was injected).
bool FaultDetected(DrillRun& run, LoadPhase& load, HeldFault& h, uint64_t spike_429_before) {
  const FaultAction& action = h.action;
  switch (action.detection) {
    case Detection::kNone:
      return false;
    case Detection::kLbMarksDown: {
      bool down = LbMarksDown(action.lb_admin, action.app_address);
      if (!down) h.lb_saw_up = true;
      return down && h.lb_saw_up;
    }
    case Detection::kLeaderChanged: {
      ClusterState st;
      return run.api.State(&st).ok() && !st.leader.empty() && st.leader != action.old_leader;
    }
    case Detection::kDnsMovesRegion:
    case Detection::kDnsDropsLb: {
      const std::string& subnet = run.subnets[action.region_index];
      DnsAnswer a = QueryApex(run.dns_servers[0], run.zone, subnet, 300);
      if (!a.ok && run.dns_servers.size() > 1) {
        a = QueryApex(run.dns_servers[1], run.zone, subnet, 300);
      }
      return a.ok && DnsDetects(action, a.addresses);
    }
    case Detection::kFirstSpike429:
      return load.engine().counters().spike_rate_limited > spike_429_before;
    case Detection::kCrowdTurnedAway:
      return h.crowd->TurnedAway();
  }
  return false;
}

// 4c. Holds the fault until its planned end, polling every 100 ms for the
// system noticing it.
void HoldFault(DrillRun& run, LoadPhase& load, const PlannedFault& planned, HeldFault& h) {
  FaultResult& f = h.f;
  int64_t undo_at = load.start_ms() + planned.end_ms;
  uint64_t spike_429_before = load.engine().counters().spike_rate_limited;
  while (!f.skipped && !g_interrupted && SteadyClock::Instance().NowMillis() < undo_at) {
    if (f.detected_after_ms < 0 && FaultDetected(run, load, h, spike_429_before)) {
      f.detected_after_ms = SteadyClock::Instance().NowMillis() - h.injected_at;
      f.detected_by = DetectionText(h.action.detection);
      std::printf("drill: %s detected after %lld ms (%s)\n", h.label.c_str(),
                  static_cast<long long>(f.detected_after_ms), f.detected_by.c_str());
      std::fflush(stdout);
    }
    SleepMs(100);
  }
  if (!f.skipped && h.action.detection != Detection::kNone && f.detected_after_ms < 0) {
    f.detected_by = std::string("not seen while held: ") + DetectionText(h.action.detection);
  }
}

// 4d. Undoes the fault: stops the crowd (counting the restarts it caused) or
// posts the undo to the up API, retried as the API may be busy restarting.
void UndoFault(DrillRun& run, LoadPhase& load, HeldFault& h) {
  FaultResult& f = h.f;
  if (h.crowd && !f.skipped) {
    h.crowd->Stop();  // its undo: stop sending
    if (ClusterState after; run.api.State(&after).ok()) {
      int restarts = 0;
      for (const NodeState& n : after.nodes) restarts += n.restarts;
      for (const NodeState& n : h.state_before->nodes) restarts -= n.restarts;
      h.crowd->SetRestarts(std::max(restarts, 0));
    }
  }
  if (!f.skipped && !h.action.undo_path.empty()) {
    Status post;
    for (int attempt = 0; attempt < 5; ++attempt) {
      post = run.api.Post(h.action.undo_path);
      if (post.ok()) break;
      SleepMs(200);
    }
    if (!post.ok()) {
      f.undone = false;
      f.notice = "undo failed: " + post.message();
      std::printf("drill: %s: %s\n", h.label.c_str(), f.notice.c_str());
    }
  }
  f.end_ms = SteadyClock::Instance().NowMillis() - load.start_ms();
  if (!f.skipped) std::printf("drill: fault %s undone\n", h.label.c_str());
  std::fflush(stdout);
  load.SetFault("");
}

// 4. Load and faults: the faults of the plan one after the other under the
// load, then the load's end, with the crowds' figures and the clients' and
// the resolver's notes in the report.
void RunFaults(DrillRun& run, LoadPhase& load, const std::vector<PlannedFault>& plan) {
  // Crowd surges by their fault's index in report.faults.
  std::vector<std::pair<size_t, std::unique_ptr<CrowdSurge>>> crowds;
  for (const PlannedFault& planned : plan) {
    SleepUntil(load.start_ms() + planned.start_ms);
    if (g_interrupted) break;
    HeldFault h = InjectFault(run, load, planned, crowds);
    HoldFault(run, load, planned, h);
    UndoFault(run, load, h);
    run.report.faults.push_back(h.f);
  }
  // Windows (to the next fault really injected) are set by ComputeFaultFigures.
  if (load.Finish()) {
    run.report.interrupted = true;
    run.report.notices.push_back("interrupted: the run was cut short");
  }
  for (auto& [index, crowd] : crowds) {
    crowd->Stop();
    run.report.faults[index].crowd = crowd->Figures(load.timeline());
  }
  for (const std::string& note : load.engine().Notes()) {
    run.report.notices.push_back("client: " + note);
  }
  if (run.resolver->failures() > 0) {
    run.report.notices.push_back("DNS: " + std::to_string(run.resolver->failures()) + " of " +
                                 std::to_string(run.resolver->queries()) +
                                 " lookups got no answer");
  }
}

// 5. Every acknowledged order, read back through every region's lb.
void ReadBackWrites(DrillRun& run, LoadEngine& engine) {
  std::vector<AcknowledgedWrite> ids = engine.Acknowledged();
  std::printf("drill: reading %zu acknowledged orders back through every region's lb\n",
              ids.size());
  std::fflush(stdout);
  ReadBackOptions rb;
  if (ClusterState now; run.api.State(&now).ok()) run.state = std::move(now);
  for (const NodeState* lb : run.state.OfKind("lb")) rb.lbs.push_back(lb->address);
  rb.source_ips = run.source_ips;
  run.report.writes = ReadBack(ids, rb);
  // A 2xx to a POST without an id: acknowledged, never checkable.
  uint64_t without_id = engine.counters().acknowledged_without_id;
  run.report.writes.without_id = without_id;
  run.report.writes.acknowledged += without_id;
  run.report.writes.unverifiable += without_id;
}

// 6. The report: report.json and report.html, the table on stdout, and our
// `nines up` stopped. Returns the exit status: 0 when the drill passed.
int WriteReport(DrillRun& run, const Timeline& timeline) {
  const DrillOptions& o = run.o;
  nlohmann::json j = ReportToJson(run.report, timeline);
  std::string err = WriteReportFiles(o.report_dir, j);
  std::printf("\n%s", RenderTable(j).c_str());
  if (!err.empty()) {
    std::fprintf(stderr, "drill: %s\n", err.c_str());
  } else {
    std::printf("report: %s/report.html, %s/report.json\n", o.report_dir.c_str(),
                o.report_dir.c_str());
  }
  std::fflush(stdout);
  if (o.up_url.empty() && !run.attached) {
    int status = run.child.Stop(30000);
    if (status != 0) std::fprintf(stderr, "drill: `nines up` exited with status %d\n", status);
  }
  return j.value("passed", false) && err.empty() ? 0 : 1;
}

// --capacity (drill/capacity_run.h): the searches against the ready
// blueprint, then the figures printed, written and posted to the up API.
int RunCapacity(DrillRun& run) {
  const DrillOptions& o = run.o;
  CapacityPlan plan = PlanCapacity(run.state, run.dns_servers, run.zone, run.subnets, o);
  std::string api = run.api.host_port;
  plan.not_settled = [api] { return BlueprintNotSettled(api); };
  CapacityFigures figures = MeasureCapacity(plan, g_interrupted);
  int exit = 1;
  if (g_interrupted) {
    std::fprintf(stderr, "drill: interrupted: the capacity figures are incomplete\n");
  } else {
    // The drill's own `nines up` stops now: no dashboard to post to.
    std::function<Status(const std::string&)> post;
    if (!o.up_url.empty() || run.attached) {
      post = [&run](const std::string& body) { return run.api.Post("/api/capacity", body); };
    }
    exit = ReportCapacity(figures, o, post);
  }
  if (o.up_url.empty() && !run.attached) {
    int status = run.child.Stop(30000);
    if (status != 0) std::fprintf(stderr, "drill: `nines up` exited with status %d\n", status);
  }
  return exit;
}

}  // namespace

int RunDrill(const DrillOptions& o) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  DrillRun run(o);
  if (Status s = ParseFaultList(o.faults, &run.kinds); !s.ok()) {
    std::fprintf(stderr, "nines drill: %s\n", s.message().c_str());
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.report_dir, ec);
  if (ec) {
    std::fprintf(stderr, "nines drill: cannot create %s: %s\n", o.report_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  if (std::optional<int> exit = StartBlueprint(run)) return *exit;  // 1
  if (!WaitUntilReady(run)) return 1;                               // 2
  if (o.capacity) return RunCapacity(run);
  if (!MakeUsers(run)) return 1;  // 3

  run.report.blueprint = o.blueprint.empty() ? "built-in" : o.blueprint;
  run.report.up_url = "http://" + run.api.host_port;
  run.report.duration_s = o.duration_s;
  run.report.rate = o.rate;
  run.report.slo_percent = o.slo_percent;
  run.report.faults_requested = o.faults;
  int64_t duration_ms = static_cast<int64_t>(o.duration_s * 1000);
  std::vector<PlannedFault> plan = PlanFaults(run.kinds, duration_ms);
  LoadPhase load(o, *run.resolver, run.users, duration_ms, g_interrupted);  // 4: the load
  run.report.started_wall_ms = WallMillis();
  RunFaults(run, load, plan);
  ReadBackWrites(run, load.engine());        // 5
  return WriteReport(run, load.timeline());  // 6
}

}  // namespace nines::drill
