// How each fault kind is injected and undone through the `nines up` API, on
// which node or region, and how the drill tells that the system noticed it.
// Pure: decided from a ClusterState snapshot.
#pragma once

#include <string>
#include <vector>

#include "drill/cluster_state.h"
#include "drill/fault_schedule.h"

namespace nines::drill {

enum class Detection {
  kNone,            // not measured
  kLbMarksDown,     // the region lb's admin /status shows the app server down
  kLeaderChanged,   // /api/state names another store leader
  kDnsMovesRegion,  // the region's clients get another lb from DNS
  kDnsDropsLb,      // DNS no longer answers with the dead lb
  kFirstSpike429,
  kCrowdTurnedAway,  // the crowd got its first 503 or 429
};

struct FaultAction {
  bool ok = false;
  std::string error;        // why no target could be chosen
  std::string target;       // node or region name
  std::string inject_path;  // POST path on the up API ("" for spike)
  std::string inject_body;  // its JSON body ("" = {})
  std::string undo_path;
  Detection detection = Detection::kNone;
  // For detection: the lb admin address and app address (kLbMarksDown), the
  // old leader (kLeaderChanged), the region index and the lb hosts that must
  // leave its DNS answer (kDnsMovesRegion, kDnsDropsLb).
  std::string lb_admin, app_address, old_leader;
  std::vector<std::string> dead_lb_hosts;
  size_t region_index = 0;
};

// `held_ms`: how long the fault is to be held; a fault `nines up` can end by
// itself (slow) is given it, so it ends even if the drill dies.
FaultAction PlanFaultAction(FaultKind kind, const ClusterState& state, int64_t held_ms = 0);

// The slow fault's duty cycle: the app server is stopped this long at the
// start of every period (it answers up to kSlowStopMs late). 700 ms is not a
// multiple of the lbs' 500 ms health-check interval, so the checks do not
// lock onto one phase: they see it slow (a 400 ms check timeout is missed
// only in the first 100 ms of a stop), not dead. Ejecting it is left to
// the lb's handling of slow answers, which is what the fault tests.
inline constexpr int kSlowStopMs = 500;
inline constexpr int kSlowPeriodMs = 700;
// The clock fault's jump: the store leader's wall clock this far forward.
inline constexpr int kClockJumpS = 3600;
// The slow-disk fault: every fsync of the store leader waits this long first.
inline constexpr int kSlowDiskDelayMs = 200;

// Whether the faults need `nines up --gray-faults` (disk-full, slow-disk, clock).
bool NeedsGrayFaults(const std::vector<FaultKind>& kinds);
const char* DetectionText(Detection d);

// Whether a DNS answer for the fault's region (its addresses) shows that DNS
// noticed the fault: no dead lb is in it any more.
bool DnsDetects(const FaultAction& action, const std::vector<std::string>& addresses);

}  // namespace nines::drill
