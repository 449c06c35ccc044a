// `nines drill --capacity` around the searches (drill/capacity_probe.h): the
// plan from the blueprint as /api/state shows it, the wait for the blueprint
// to settle between steps, and the end: the figures and the N+1 verdict
// printed, written to REPORT/capacity.json and posted to the up API.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "drill/capacity.h"
#include "drill/capacity_probe.h"
#include "drill/cluster_state.h"
#include "drill/driver.h"

namespace nines::drill {

// The searches' plan: each region with its client subnet and first lb, every
// lb's admin address, the objective and step length of `options`.
CapacityPlan PlanCapacity(const ClusterState& state, const std::vector<std::string>& dns_servers,
                          const std::string& zone, const std::vector<std::string>& subnets,
                          const DrillOptions& options);

// Why the blueprint behind the up API at `api_host_port` is not back to
// normal, or "": a process not running, no store leader, a follower more
// than 1,000 entries behind.
std::string BlueprintNotSettled(const std::string& api_host_port);

// Prints the figures and the N+1 verdict (at --rate, if given), writes
// REPORT/capacity.json and, when `post` is set, posts the figures to the up
// API through it. Returns the exit status: 1 when N+1 fails at --rate.
int ReportCapacity(const CapacityFigures& figures, const DrillOptions& options,
                   const std::function<Status(const std::string& body)>& post);

}  // namespace nines::drill
