// How each fault kind is injected and undone through the `nines up` API, on
// which node or region, and how the drill tells that the system noticed it.
// Pure: decided from a ClusterState snapshot.
#pragma once

#include <string>

#include "drill/cluster_state.h"
#include "drill/fault_schedule.h"

namespace nines::drill {

enum class Detection {
  kNone,            // not measured
  kLbMarksDown,     // the region lb's admin /status shows the app server down
  kLeaderChanged,   // /api/state names another store leader
  kDnsMovesRegion,  // the region's clients get another lb from DNS
  kFirstSpike429,
};

struct FaultAction {
  bool ok = false;
  std::string error;        // why no target could be chosen
  std::string target;       // node or region name
  std::string inject_path;  // POST path on the up API ("" for spike)
  std::string undo_path;
  Detection detection = Detection::kNone;
  // For detection: the lb admin address and app address (kLbMarksDown), the
  // old leader (kLeaderChanged), the region index and its lb host (kDnsMovesRegion).
  std::string lb_admin, app_address, old_leader, lb_host;
  size_t region_index = 0;
};

FaultAction PlanFaultAction(FaultKind kind, const ClusterState& state);
const char* DetectionText(Detection d);

}  // namespace nines::drill
