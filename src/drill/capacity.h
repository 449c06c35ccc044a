// Capacity and N+1, the pure part: judging one fixed-rate step of load
// against the latency objective, the search over step rates (a ramp, then a
// bisection), and the N+1 verdict from the measured capacities (whole and
// per region). No sockets, no threads: drill/capacity_probe.h runs the steps,
// `nines up` reads the figures (POST /api/capacity) to warn on its dashboard.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "drill/timeline.h"

namespace nines::drill {

// A step is sustained when both hold: the p99 latency of the requests sent
// (measured from their intended send time, so queueing counts) is at most
// the objective, and at most `max_failed_percent` of the requests were not
// 2xx (failures, 429s and requests the client could not even send).
struct CapacityCriteria {
  double latency_objective_ms = 250;
  double max_failed_percent = 0.1;
};

struct CapacityStep {
  double rate = 0;  // requests/s offered (open loop)
  uint64_t requests = 0;
  uint64_t ok = 0;
  uint64_t not_ok = 0;  // failed + 429 + refused by the client + unfinished
  // Scheduled but with no outcome when the step's drain ended: never sent in
  // time (a generator short of CPU) or still waiting. Counted as not ok.
  uint64_t unfinished = 0;
  double p99_ms = 0;
  bool sustained = false;
  double failed_percent() const;
};

// The step's figures from its timeline (regular requests only), judged;
// `scheduled` requests were due in the step (those the timeline lacks are
// unfinished).
CapacityStep StepFromTimeline(double rate, uint64_t scheduled, const Timeline& timeline,
                              const CapacityCriteria& criteria);

// The rates to try: from `start_rate` up by doubling while steps are
// sustained (down by halving while they are not), then bisecting between the
// highest sustained and the lowest unsustained rate until they are within
// `resolution` (0.1: 10%) of each other, `max_rate` is sustained, the rate
// would drop below 1/s, or `max_steps` were run. Before it ends, the lowest
// unsustained rate is run once more: a step can fail on what an earlier
// overloaded step left behind. If it holds this time, the search goes on
// above it.
class CapacitySearch {
 public:
  CapacitySearch(double start_rate, double max_rate, double resolution = 0.1, int max_steps = 12);

  // The next rate to run, or 0 when the search is over.
  double NextRate() const;
  void Record(const CapacityStep& step);

  // The highest sustained rate (0 if none was).
  double capacity() const { return sustained_; }
  // The lowest rate not sustained (0 if every step was).
  double lowest_unsustained() const { return unsustained_; }
  const std::vector<CapacityStep>& steps() const { return steps_; }
  // The search hit max_rate without finding a limit.
  bool capped() const { return unsustained_ == 0 && sustained_ >= max_rate_; }

 private:
  double start_;
  double max_rate_;
  double resolution_;
  int max_steps_;
  double sustained_ = 0;
  double unsustained_ = 0;  // 0: none yet
  bool confirmed_ = false;  // unsustained_ failed twice
  std::vector<CapacityStep> steps_;
};

struct RegionCapacity {
  std::string name;
  double per_s = 0;  // load aimed at this region's address only
};

struct CapacityFigures {
  double whole_per_s = 0;  // load spread over every region
  std::vector<RegionCapacity> regions;
  CapacityCriteria criteria;
  int64_t measured_wall_ms = 0;
  // The whole or a region hit the search's ceiling: a lower bound only.
  bool capped = false;
};

// What is left when one region is lost: for each region, the survivors'
// capacity is the sum of the other regions' capacities, at most the whole's
// (they share the store). The worst case is the region whose loss leaves the
// least (on a tie at that cap: the least before it, i.e. the strongest region).
struct NPlusOne {
  bool known = false;  // at least two regions measured
  std::string worst_region;
  double survivors_per_s = 0;  // the least left, over the regions
};
NPlusOne WorstRegionLoss(const CapacityFigures& figures);

// True when the survivors of the worst loss carry `load` requests/s.
inline bool SurvivorsCarry(const NPlusOne& n, double load) {
  return n.known && load <= n.survivors_per_s;
}

// The figures as JSON (capacity.json; the body of POST /api/capacity) and
// back into *figures: InvalidArgument saying what is wrong on a malformed document.
nlohmann::json CapacityToJson(const CapacityFigures& figures);
Status CapacityFromJson(const nlohmann::json& j, CapacityFigures* figures);

// The lines the drill prints at the end: the capacities, the N+1 verdict
// against `load` (requests/s, the --rate given) or, without a load, the
// highest load at which N+1 holds.
std::string RenderCapacity(const CapacityFigures& figures, std::optional<double> load);

}  // namespace nines::drill
