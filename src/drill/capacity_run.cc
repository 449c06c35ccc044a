// The plan, the settling check and the end of `nines drill --capacity` (see
// capacity_run.h).
#include "drill/capacity_run.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include <nlohmann/json.hpp>

#include "http/client.h"

namespace nines::drill {

CapacityPlan PlanCapacity(const ClusterState& state, const std::vector<std::string>& dns_servers,
                          const std::string& zone, const std::vector<std::string>& subnets,
                          const DrillOptions& options) {
  CapacityPlan plan;
  plan.dns_servers = dns_servers;
  plan.zone = zone;
  plan.criteria.latency_objective_ms = options.latency_objective_ms;
  plan.step_ms = static_cast<int>(options.capacity_step_s * 1000);
  for (size_t i = 0; i < state.regions.size() && i < subnets.size(); ++i) {
    CapacityRegion region{state.regions[i].name, subnets[i], ""};
    for (const NodeState* lb : state.OfKind("lb")) {
      if (lb->region != region.name || !region.lb_host.empty()) continue;
      size_t colon = lb->address.rfind(':');
      region.lb_host = lb->address.substr(0, colon);
      if (colon != std::string::npos) {
        plan.lb_port = static_cast<uint16_t>(std::atoi(lb->address.c_str() + colon + 1));
      }
    }
    plan.regions.push_back(region);
  }
  for (const NodeState* lb : state.OfKind("lb")) plan.lb_admins.push_back(lb->admin);
  return plan;
}

std::string BlueprintNotSettled(const std::string& api_host_port) {
  http::ClientResponse r = http::FetchAddress(api_host_port, "GET", "/api/state", "",
                                              http::ClientOptions().Timeout(2000));
  auto j = nlohmann::json::parse(r.ok ? r.body : "", nullptr, false);
  if (!j.is_object() || !j.contains("nodes") || !j.contains("store")) return "no /api/state";
  for (const auto& n : j["nodes"]) {
    if (n.value("state", std::string()) != "running") {
      return n.value("name", std::string("?")) + " " + n.value("state", std::string("?"));
    }
  }
  const auto& store = j["store"];
  if (!store.contains("leader") || !store["leader"].is_string()) return "no store leader";
  for (const auto& m : store.value("members", nlohmann::json::array())) {
    if (m.value("lag", int64_t{-1}) > 1000) {
      return m.value("name", std::string("?")) + " " + std::to_string(m.value("lag", 0)) +
             " entries behind";
    }
  }
  return "";
}

int ReportCapacity(const CapacityFigures& figures, const DrillOptions& options,
                   const std::function<Status(const std::string& body)>& post) {
  std::optional<double> load;
  if (options.rate_given) load = options.rate;
  std::printf("\n%s", RenderCapacity(figures, load).c_str());
  int exit = load && !SurvivorsCarry(WorstRegionLoss(figures), *load) ? 1 : 0;
  nlohmann::json j = CapacityToJson(figures);
  std::string path = options.report_dir + "/capacity.json";
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fputs((j.dump(2) + "\n").c_str(), f);
    std::fclose(f);
    std::printf("capacity: %s\n", path.c_str());
  } else {
    std::fprintf(stderr, "drill: cannot write %s\n", path.c_str());
  }
  if (!post) {
    std::printf("capacity: not posted to a dashboard: the drill's own `nines up` stops now\n");
  } else if (Status posted = post(j.dump()); !posted.ok()) {
    std::fprintf(stderr,
                 "drill: the dashboard did not take the figures (%s); pass the admin token with "
                 "--admin-token-file or NINES_ADMIN_TOKEN\n",
                 posted.message().c_str());
  } else {
    std::printf("capacity: posted to the dashboard, which shows the load against it\n");
  }
  std::fflush(stdout);
  return exit;
}

}  // namespace nines::drill
