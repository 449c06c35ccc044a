// Fault names and the spacing of faults over a run.
#include "drill/fault_schedule.h"

#include <algorithm>

namespace nines::drill {

namespace {
constexpr FaultKind kAll[] = {FaultKind::kApp,      FaultKind::kLb,        FaultKind::kLeader,
                              FaultKind::kFreeze,   FaultKind::kPartition, FaultKind::kRegion,
                              FaultKind::kSpike,    FaultKind::kCrowd,     FaultKind::kSlow,
                              FaultKind::kDiskFull, FaultKind::kSlowDisk,  FaultKind::kClock};
}  // namespace

const char* FaultName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kApp:
      return "app";
    case FaultKind::kLb:
      return "lb";
    case FaultKind::kLeader:
      return "leader";
    case FaultKind::kFreeze:
      return "freeze";
    case FaultKind::kPartition:
      return "partition";
    case FaultKind::kRegion:
      return "region";
    case FaultKind::kSpike:
      return "spike";
    case FaultKind::kCrowd:
      return "crowd";
    case FaultKind::kSlow:
      return "slow";
    case FaultKind::kDiskFull:
      return "disk-full";
    case FaultKind::kSlowDisk:
      return "slow-disk";
    case FaultKind::kClock:
      return "clock";
  }
  return "?";
}

std::optional<FaultKind> FaultFromName(std::string_view name) {
  for (FaultKind k : kAll) {
    if (name == FaultName(k)) return k;
  }
  return std::nullopt;
}

std::vector<FaultKind> AllFaults() {
  return {std::begin(kAll), std::end(kAll)};
}

Status ParseFaultList(std::string_view list, std::vector<FaultKind>* faults) {
  std::vector<FaultKind> out;
  constexpr size_t kMaxFaults = 64;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    if (item == "all") {
      for (FaultKind k : kAll) out.push_back(k);
    } else if (auto kind = FaultFromName(item)) {
      out.push_back(*kind);
    } else {
      return Status::InvalidArgument(
          "unknown fault '" + std::string(item) +
          "' (known: app, lb, leader, freeze, partition, region, spike, crowd, slow, "
          "disk-full, slow-disk, clock, all)");
    }
    if (out.size() > kMaxFaults) return Status::InvalidArgument("more than 64 faults");
  }
  *faults = std::move(out);
  return Status::Ok();
}

std::vector<PlannedFault> PlanFaults(const std::vector<FaultKind>& faults, int64_t duration_ms) {
  std::vector<PlannedFault> plan;
  if (faults.empty() || duration_ms <= 0) return plan;
  // Lead-in: steady state to compare against. Tail: room to recover from the last fault.
  int64_t lead = std::max<int64_t>(3000, duration_ms / 10);
  int64_t tail = std::max<int64_t>(4000, duration_ms * 15 / 100);
  if (lead + tail >= duration_ms) {
    lead = duration_ms / 10;
    tail = duration_ms / 10;
  }
  int64_t usable = duration_ms - lead - tail;
  int64_t slot = usable / static_cast<int64_t>(faults.size());
  int64_t held = std::clamp<int64_t>(slot / 2, 1, 20000);
  for (size_t i = 0; i < faults.size(); ++i) {
    PlannedFault f{faults[i]};
    f.start_ms = lead + static_cast<int64_t>(i) * slot;
    f.end_ms = f.start_ms + held;
    f.window_end_ms = i + 1 < faults.size() ? f.start_ms + slot : duration_ms;
    plan.push_back(f);
  }
  return plan;
}

}  // namespace nines::drill
