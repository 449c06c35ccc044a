// Capacity probing against the running blueprint: the quick closed-loop
// probe of one lb (the crowd fault's, and the capacity search's first
// guess), one fixed-rate step of the drill's open-loop load, and the search
// (drill/capacity.h) run for the whole blueprint and for each region, with a
// line printed per step.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "drill/capacity.h"
#include "drill/dns_lookup.h"
#include "drill/load_engine.h"

namespace nines::drill {

// Requests per second one lb answers 2xx to 8 closed-loop clients, each
// request on a new connection from a new address (what a crowd costs),
// over `probe_ms`.
double ProbeCapacity(const std::string& lb_host, uint16_t port, int probe_ms);

struct CapacityRegion {
  std::string name;
  std::string subnet;   // its client network (ECS): DNS answers its lbs
  std::string lb_host;  // one of its lbs, for the first guess ("" for none)
};

struct CapacityPlan {
  std::vector<std::string> dns_servers;  // "A.B.C.D:PORT"
  std::string zone;
  uint16_t lb_port = 8080;
  std::vector<CapacityRegion> regions;
  std::vector<std::string> lb_admins;  // "H:P" of every lb: settled between steps
  // Why the rest of the blueprint is not settled ("" when it is): the driver
  // asks the up API (a store leader, followers caught up, every process running).
  std::function<std::string()> not_settled;
  CapacityCriteria criteria;
  int step_ms = 3000;
  double max_rate = 20000;  // lowered to what the users can send under the per-client limit
  int max_steps = 12;       // per search
};

// The users of the capacity steps: 250 per region, 127.97.R.1.., each a
// distinct client of the lbs' per-client limit, resolving with region R's
// subnet (resolver entry R).
std::vector<SimUser> CapacityUsers(size_t region, size_t regions);

// The step's length: `step_ms`, longer (up to 3x) at low rates so that a
// step holds about 1,000 requests and its p99 is not its second-worst answer.
int StepMillis(double rate, int step_ms);

// Why the blueprint is not back to normal after a step, or "": some lb lists
// an app server down or has a queue (an overloaded step can eject apps), or
// plan.not_settled says so.
std::string NotSettledReason(const CapacityPlan& plan);

// One step: `rate` requests/s for `step_ms` of the drill's load (half order
// creations, half reads) from `users` to port `lb_port` of the addresses
// their resolver entries name, then the requests in flight drained.
CapacityStep RunCapacityStep(RegionResolver& resolver, const std::vector<SimUser>& users,
                             uint16_t lb_port, double rate, int step_ms,
                             const CapacityCriteria& criteria,
                             const std::atomic<bool>& interrupted);

// Each region's capacity (load aimed at its address through DNS), then the
// whole's (load spread over all regions). Prints a line per step.
// `interrupted` cuts it short (figures so far).
CapacityFigures MeasureCapacity(const CapacityPlan& plan, const std::atomic<bool>& interrupted);

}  // namespace nines::drill
