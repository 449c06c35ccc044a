// The faults a drill injects, parsed from --faults ("app,lb,leader,freeze,
// partition,region,spike,crowd,slow,disk-full,slow-disk,clock" or "all") and spread over the run: a
// quiet lead-in, then one slot per fault (the fault held for part of the slot, then undone, the
// rest of the slot left for recovery), then a quiet tail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace nines::drill {

enum class FaultKind {
  kApp,        // SIGKILL one app server, restart it later
  kLb,         // SIGKILL a region's load balancer
  kLeader,     // SIGKILL the store leader
  kFreeze,     // SIGSTOP the store leader (a gray failure), SIGCONT later
  kPartition,  // iptables-isolate the store leader, heal later (root only)
  kRegion,     // stop every process of a region, start it later
  kSpike,      // 10x the drill's rate from one client address (429 expected)
  kCrowd,      // a surge of distinct users at a multiple of measured capacity
  kSlow,       // an app server answers slowly: SIGSTOP/SIGCONT duty cycle (gray failure)
  kDiskFull,   // the store leader's data directory (a tmpfs) filled (nines up --gray-faults)
  kSlowDisk,   // the store leader's fsyncs 200 ms slower (nines up --gray-faults)
  kClock,      // the store leader's wall clock an hour forward (libfaketime), then back
};

const char* FaultName(FaultKind kind);
std::optional<FaultKind> FaultFromName(std::string_view name);
// Every kind in the order the issue lists them ("all").
std::vector<FaultKind> AllFaults();

// Parses a comma-separated list into *faults; "" gives no faults. On an
// unknown name, InvalidArgument naming it and the known ones.
Status ParseFaultList(std::string_view list, std::vector<FaultKind>* faults);

struct PlannedFault {
  FaultKind kind;
  int64_t start_ms = 0;       // since the load started
  int64_t end_ms = 0;         // when it is undone
  int64_t window_end_ms = 0;  // next fault's start, or the end of the load
};

// Spreads `faults` over a run of `duration_ms`, in the given order.
std::vector<PlannedFault> PlanFaults(const std::vector<FaultKind>& faults, int64_t duration_ms);

}  // namespace nines::drill
