// Routing and JSON for the dashboard API (see api.h and docs/up.md).
#include "up/api.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "http/admin_guard.h"
#include "up/dashboard_html.h"

namespace nines::up {
namespace {

using nlohmann::json;

http::Response Error(int status, const std::string& message) {
  return http::JsonError(status, message);
}

http::Response Ok(json extra = json::object()) {
  extra["ok"] = true;
  return http::Response::Json(200, extra.dump());
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

bool IntegerIn(const nlohmann::json& v, int64_t lo, int64_t hi, int* out);

// The body of POST .../slow: {"stop_ms", "period_ms", "for_ms"}, each optional
// (SlowSpec's defaults; for_ms 0 = until .../fast). InvalidArgument says what is wrong.
Status ParseSlowSpec(const std::string& body, SlowSpec* spec) {
  json j = json::object();
  if (!body.empty()) {
    j = json::parse(body, nullptr, false);
    if (!j.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  }
  int for_ms = 0;
  if (j.contains("stop_ms") &&
      !IntegerIn(j["stop_ms"], 1, SlowSpec::kMaxPeriodMs - 1, &spec->stop_ms)) {
    return Status::InvalidArgument(
        "stop_ms must be a whole number of milliseconds below period_ms");
  }
  if (j.contains("period_ms") && !IntegerIn(j["period_ms"], SlowSpec::kMinPeriodMs,
                                            SlowSpec::kMaxPeriodMs, &spec->period_ms)) {
    return Status::InvalidArgument(fmt::format("period_ms must be a whole number from {} to {}",
                                               SlowSpec::kMinPeriodMs, SlowSpec::kMaxPeriodMs));
  }
  if (j.contains("for_ms") && !IntegerIn(j["for_ms"], 0, SlowSpec::kMaxForMs, &for_ms)) {
    return Status::InvalidArgument(
        fmt::format("for_ms must be a whole number from 0 to {}", SlowSpec::kMaxForMs));
  }
  spec->for_ms = for_ms;
  if (spec->stop_ms >= spec->period_ms)
    return Status::InvalidArgument("stop_ms must be below period_ms");
  return Status::Ok();
}

// The body of POST .../clock ({"offset_s","for_ms"}), .../fill-disk
// ({"for_ms"}) or .../slow-disk ({"delay_ms","for_ms"}), each optional (an
// hour forward; 200 ms per fsync; until undone). InvalidArgument says what is wrong.
Status ParseGrayBody(const std::string& body, int* offset_s, int* delay_ms, int* for_ms) {
  json j = json::object();
  if (!body.empty()) {
    j = json::parse(body, nullptr, false);
    if (!j.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  }
  if (j.contains("offset_s") &&
      !IntegerIn(j["offset_s"], -GrayFaults::kMaxOffsetS, GrayFaults::kMaxOffsetS, offset_s)) {
    return Status::InvalidArgument(
        fmt::format("offset_s must be a whole number of seconds from -{} to {}",
                    GrayFaults::kMaxOffsetS, GrayFaults::kMaxOffsetS));
  }
  if (j.contains("delay_ms") &&
      !IntegerIn(j["delay_ms"], 1, GrayFaults::kMaxFsyncDelayMs, delay_ms)) {
    return Status::InvalidArgument(
        fmt::format("delay_ms must be a whole number from 1 to {}", GrayFaults::kMaxFsyncDelayMs));
  }
  if (j.contains("for_ms") && !IntegerIn(j["for_ms"], 0, GrayFaults::kMaxForMs, for_ms)) {
    return Status::InvalidArgument(
        fmt::format("for_ms must be a whole number from 0 to {}", GrayFaults::kMaxForMs));
  }
  return Status::Ok();
}

// clock, clock-reset, fill-disk, free-disk, slow-disk, fast-disk on a store member.
http::Response GrayAction(const UpContext& ctx, const std::string& name, const std::string& action,
                          const std::string& body) {
  int offset_s = 3600;
  int delay_ms = 200;
  int for_ms = 0;
  if (Status bad = ParseGrayBody(body, &offset_s, &delay_ms, &for_ms); !bad.ok()) {
    return Error(400, bad.message());
  }
  if (!ctx.gray) {
    return Error(409, fmt::format("{} needs `nines up --gray-faults`", action));
  }
  int64_t now = SteadyClock::Instance().NowMillis();
  Status done;
  std::string event;
  if (action == "clock") {
    if (offset_s == 0) return Error(400, "offset_s must not be 0");
    done = ctx.gray->JumpClock(name, offset_s, for_ms, now);
    event = fmt::format("{}: wall clock {:+d} s (libfaketime){}", name, offset_s,
                        for_ms > 0 ? fmt::format(", for {} ms", for_ms) : "");
  } else if (action == "clock-reset") {
    done = ctx.gray->ResetClock(name);
    event = name + ": wall clock back";
  } else if (action == "fill-disk") {
    done = ctx.gray->FillDisk(name, for_ms, now);
    event = fmt::format("{}: data directory filled{}", name,
                        for_ms > 0 ? fmt::format(", for {} ms", for_ms) : "");
  } else if (action == "free-disk") {
    done = ctx.gray->FreeDisk(name);
    event = name + ": data directory freed";
  } else if (action == "slow-disk") {
    done = ctx.gray->SlowDisk(name, delay_ms, for_ms, now);
    event = fmt::format("{}: every fsync {} ms slower{}", name, delay_ms,
                        for_ms > 0 ? fmt::format(", for {} ms", for_ms) : "");
  } else {
    done = ctx.gray->FastDisk(name);
    event = name + ": fsync fast again";
  }
  if (done.IsNotFound()) return Error(404, done.message());
  if (!done.ok()) return Error(409, done.message());
  ctx.supervisor->Note(event);
  return Ok({{"node", name}, {"action", action}});
}

http::Response NodeAction(const UpContext& ctx, const std::string& name, const std::string& action,
                          const std::string& body) {
  const NodeSpec* spec = ctx.supervisor->Find(name);
  if (!spec) return Error(404, fmt::format("no node named '{}'", name));
  Status done;
  if (action == "kill") {
    done = ctx.supervisor->Kill(name);
  } else if (action == "restart" || action == "start") {
    done = ctx.supervisor->Restart(name);
  } else if (action == "freeze") {
    done = ctx.supervisor->Freeze(name);
  } else if (action == "thaw") {
    done = ctx.supervisor->Thaw(name);
  } else if (action == "slow") {
    SlowSpec slow;
    if (Status bad = ParseSlowSpec(body, &slow); !bad.ok()) return Error(400, bad.message());
    done = ctx.supervisor->Slow(name, slow);
    if (!done.ok()) return Error(409, done.message());
    return Ok({{"node", name},
               {"action", action},
               {"stop_ms", slow.stop_ms},
               {"period_ms", slow.period_ms},
               {"for_ms", slow.for_ms}});
  } else if (action == "fast") {
    done = ctx.supervisor->Fast(name);
  } else if (action == "clock" || action == "clock-reset" || action == "fill-disk" ||
             action == "free-disk" || action == "slow-disk" || action == "fast-disk") {
    return GrayAction(ctx, name, action, body);
  } else if (action == "isolate" || action == "heal") {
    const std::string& ip = spec->address.host;
    if (ip == "127.0.0.1") {
      return Error(409, fmt::format("cannot isolate {}: 127.0.0.1 is the source address of all "
                                    "local traffic; give it another address in the blueprint",
                                    name));
    }
    done = action == "isolate" ? ctx.isolation->Isolate(ip) : ctx.isolation->Heal(ip);
    if (!done.ok()) return Error(409, done.message());
    ctx.supervisor->SetIsolated(name, action == "isolate");
    return Ok({{"node", name}, {"action", action}, {"address", ip}});
  } else {
    return Error(
        404,
        fmt::format("unknown action '{}' (kill, restart, freeze, thaw, slow, fast, isolate, heal, "
                    "clock, clock-reset, fill-disk, free-disk, slow-disk, fast-disk)",
                    action));
  }
  if (!done.ok()) return Error(409, done.message());
  return Ok({{"node", name}, {"action", action}});
}

// A JSON integer (not a float, not a string) within [lo, hi].
bool IntegerIn(const nlohmann::json& v, int64_t lo, int64_t hi, int* out) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi) || static_cast<int64_t>(u) < lo) return false;
    *out = static_cast<int>(u);
    return true;
  }
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) return false;
  *out = static_cast<int>(x);
  return true;
}

const RegionSpec* FindRegion(const Blueprint& bp, const std::string& name) {
  for (const RegionSpec& r : bp.regions) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

http::Response SpikeAction(const UpContext& ctx, const std::string& body) {
  json j = json::object();
  if (!body.empty()) {
    j = json::parse(body, nullptr, false);
    if (!j.is_object()) return Error(400, "the body must be a JSON object");
  }
  const Blueprint& bp = *ctx.blueprint;
  std::string region = bp.regions.front().name;
  int rate = 1000;
  int seconds = 10;
  if (j.contains("region")) {
    if (!j["region"].is_string()) return Error(400, "region must be a string");
    region = j["region"].get<std::string>();
  }
  // Whole JSON numbers in range only: 4294967297 is not 1, and 2.9 is not 2.
  if (j.contains("rate") && !IntegerIn(j["rate"], 1, Spike::kMaxRate, &rate)) {
    return Error(400, fmt::format("rate must be a whole number from 1 to {}", Spike::kMaxRate));
  }
  if (j.contains("seconds") && !IntegerIn(j["seconds"], 1, Spike::kMaxSeconds, &seconds)) {
    return Error(400,
                 fmt::format("seconds must be a whole number from 1 to {}", Spike::kMaxSeconds));
  }
  const RegionSpec* r = FindRegion(bp, region);
  if (!r) return Error(404, fmt::format("no region named '{}'", region));
  std::string source = r->prefix + ".250";
  Endpoint lb{r->prefix + "." + std::to_string(kFirstLbHost), static_cast<uint16_t>(kLbPort)};
  if (Status s = ctx.spike->Start(region, source, lb, rate, seconds); !s.ok()) {
    return Error(409, s.message());
  }
  return Ok({{"region", region},
             {"rate", rate},
             {"seconds", seconds},
             {"source", source},
             {"target", lb.ToString()}});
}

// POST /api/capacity: the figures of `nines drill --capacity`.
http::Response CapacityAction(const UpContext& ctx, const std::string& body) {
  drill::CapacityFigures figures;
  if (Status s = drill::CapacityFromJson(json::parse(body, nullptr, false), &figures); !s.ok()) {
    return Error(400, s.message());
  }
  if (Status s = ctx.headroom->Set(figures); !s.ok()) return Error(500, s.message());
  ctx.supervisor->Note(fmt::format("capacity measured: {:.0f} requests/s, worst region loss: {}",
                                   figures.whole_per_s,
                                   drill::WorstRegionLoss(figures).worst_region));
  return Ok();
}

}  // namespace

std::string StateJson(const UpContext& ctx) {
  std::vector<NodeStatus> statuses = ctx.supervisor->Snapshot();
  const std::vector<NodeSpec>& specs = ctx.supervisor->nodes();
  ObservedState observed = ctx.poller->Snapshot();
  json nodes = json::array();
  for (size_t i = 0; i < specs.size(); ++i) {
    const NodeSpec& spec = specs[i];
    const NodeStatus& st = statuses[i];
    nodes.push_back({{"name", spec.name},
                     {"kind", NodeKindName(spec.kind)},
                     {"region", spec.region},
                     {"address", spec.address.ToString()},
                     {"admin", spec.admin.ToString()},
                     {"pid", st.pid > 0 ? st.pid : 0},
                     {"state", NodeStateName(st.state)},
                     {"restarts", st.restarts},
                     {"last_exit", st.last_exit}});
    if (ctx.gray && spec.kind == NodeKind::kStore) {
      GrayFaults::View g = ctx.gray->Of(spec.name);
      nodes.back()["gray"] = {{"clock_offset_s", g.clock_offset_s},
                              {"disk_filled", g.disk_filled},
                              {"fsync_delay_ms", g.fsync_delay_ms},
                              {"clock", g.clock},
                              {"disk", g.disk}};
    }
  }
  json members = json::array();
  for (const StoreMemberState& m : observed.store.members) {
    members.push_back({{"name", m.node},
                       {"role", m.role},
                       {"term", m.term},
                       {"commit", m.commit},
                       {"applied", m.applied},
                       {"lag", m.lag}});
  }
  json store = {{"leader", observed.store.leader_node.empty() ? json(nullptr)
                                                              : json(observed.store.leader_node)},
                {"term", observed.store.term},
                {"members", members}};
  json lbs = json::array();
  for (const LbStats& l : observed.lbs) {
    lbs.push_back({{"name", l.node},
                   {"reachable", l.reachable},
                   {"requests", l.requests},
                   {"rps", l.rps},
                   {"errors", l.errors},
                   {"rate_limited", l.rate_limited},
                   {"availability", l.availability}});
  }
  json regions = json::array();
  for (const RegionSpec& r : ctx.blueprint->regions) {
    regions.push_back({{"name", r.name},
                       {"location", {r.latitude, r.longitude}},
                       {"prefix", r.prefix},
                       {"up", ctx.supervisor->RegionUp(r.name)}});
  }
  json dns = json::array();
  for (const Endpoint& ep : ctx.blueprint->dns_servers) dns.push_back(ep.ToString());
  SpikeStatus sp = ctx.spike->Status();
  json spike = {{"running", sp.running}, {"achieved_rate", sp.achieved_rate},
                {"region", sp.region},   {"rate", sp.rate},
                {"seconds", sp.seconds}, {"sent", sp.sent},
                {"ok", sp.ok},           {"rate_limited", sp.rate_limited},
                {"failed", sp.failed}};
  double current_rps = 0;
  for (const LbStats& l : observed.lbs) current_rps += l.rps;
  json out = {{"started_ms", ctx.started_ms},
              {"zone", ctx.blueprint->zone},
              {"dns", dns},
              {"nodes", nodes},
              {"store", store},
              {"lbs", lbs},
              {"regions", regions},
              {"spike", spike},
              {"events", ctx.supervisor->Events()}};
  if (ctx.headroom) out["capacity"] = HeadroomJson(ctx.headroom->Get(), current_rps);
  return out.dump();
}

void RegisterUpMetrics(const UpContext& ctx) {
  Supervisor* sup = ctx.supervisor;
  for (NodeState s :
       {NodeState::kStarting, NodeState::kRunning, NodeState::kStopped, NodeState::kCrashed,
        NodeState::kFrozen, NodeState::kIsolated, NodeState::kSlow}) {
    ctx.metrics->AddGaugeCallback("nines_up_nodes", "Processes of the blueprint by state.",
                                  {{"state", NodeStateName(s)}}, [sup, s] {
                                    double n = 0;
                                    for (const NodeStatus& st : sup->Snapshot()) n += st.state == s;
                                    return n;
                                  });
  }
  for (const NodeSpec& spec : sup->nodes()) {
    std::string name = spec.name;
    ctx.metrics->AddCounterCallback("nines_up_restarts_total",
                                    "Times each process was started again.", {{"node", name}},
                                    [sup, name] {
                                      for (const NodeStatus& st : sup->Snapshot()) {
                                        if (st.name == name)
                                          return static_cast<double>(st.restarts);
                                      }
                                      return 0.0;
                                    });
  }
}

http::Response HandleUpRequest(const UpContext& ctx, const http::Request& req) {
  ctx.metrics
      ->GetCounter("nines_up_api_requests_total", "Dashboard and API requests by method.",
                   {{"method", req.method == "GET" || req.method == "POST" ? req.method : "other"}})
      ->Add();
  if (req.path == "/healthz" && req.method == "GET") return http::Response::Text(200, "ok\n");
  // Reads must come from this dashboard's own pages (Host, Origin); changes
  // need the admin token and JSON besides (http/admin_guard.h).
  http::AdminAccess access{ctx.blueprint->dashboard, ctx.admin_token, "nines-up"};
  std::optional<http::Response> refused = http::IsReadOnlyMethod(req.method)
                                              ? http::RefuseForeignBrowser(req, access)
                                              : http::RefuseStateChange(req, access);
  if (refused) {
    ctx.metrics
        ->GetCounter("nines_up_api_refused_total",
                     "Requests refused by the guard (foreign Host or Origin; changes without the "
                     "admin token or not JSON).",
                     {})
        ->Add();
    return *refused;
  }
  std::vector<std::string> parts = SplitPath(req.path);
  if (req.method == "GET" || req.method == "HEAD") {
    if (req.path == "/" || req.path == "/index.html") {
      http::Response r;
      r.content_type = "text/html; charset=utf-8";
      r.body = kDashboardHtml;
      r.headers.push_back({"Cache-Control", "no-store"});
      return r;
    }
    if (req.path == "/api/state") {
      http::Response r = http::Response::Json(200, StateJson(ctx));
      r.headers.push_back({"Cache-Control", "no-store"});
      return r;
    }
    if (req.path == "/status") {
      int running = 0;
      std::vector<NodeStatus> statuses = ctx.supervisor->Snapshot();
      for (const NodeStatus& s : statuses) running += s.state == NodeState::kRunning;
      ObservedState observed = ctx.poller->Snapshot();
      json j = {{"nodes", statuses.size()},
                {"running", running},
                {"all_ready", ctx.supervisor->AllReady()},
                {"store_leader", observed.store.leader_node},
                {"started_ms", ctx.started_ms}};
      return http::Response::Json(200, j.dump());
    }
    if (req.path == "/metrics") {
      http::Response r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = ctx.metrics->RenderPrometheus();
      return r;
    }
    if (req.path == "/healthz") return http::Response::Text(200, "ok\n");
    return Error(404, "not found: try /, /api/state, /status or /metrics");
  }
  if (req.method != "POST") return Error(405, "use GET or POST");
  if (parts.size() == 4 && parts[0] == "api" && parts[1] == "nodes") {
    return NodeAction(ctx, parts[2], parts[3], req.body);
  }
  if (parts.size() == 4 && parts[0] == "api" && parts[1] == "regions") {
    if (!FindRegion(*ctx.blueprint, parts[2])) {
      return Error(404, fmt::format("no region named '{}'", parts[2]));
    }
    Status done;
    if (parts[3] == "stop") {
      done = ctx.supervisor->StopRegion(parts[2]);
    } else if (parts[3] == "start") {
      done = ctx.supervisor->StartRegion(parts[2]);
    } else {
      return Error(404, fmt::format("unknown region action '{}' (stop, start)", parts[3]));
    }
    if (!done.ok()) return Error(409, done.message());
    return Ok({{"region", parts[2]}, {"action", parts[3]}});
  }
  if (parts.size() == 2 && parts[0] == "api" && parts[1] == "spike") {
    return SpikeAction(ctx, req.body);
  }
  if (parts.size() == 2 && parts[0] == "api" && parts[1] == "capacity" && ctx.headroom) {
    return CapacityAction(ctx, req.body);
  }
  return Error(404, "not found");
}

}  // namespace nines::up
