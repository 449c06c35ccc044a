// PlanFaultAction: app/slow/lb/spike hit the first region; leader, freeze and
// partition hit the store leader; region stops the leader's region (store
// failover and DNS failover at once, the hardest single-region loss).
#include "drill/fault_action.h"

#include <algorithm>

namespace nines::drill {

namespace {

size_t RegionIndex(const ClusterState& s, const std::string& name) {
  for (size_t i = 0; i < s.regions.size(); ++i) {
    if (s.regions[i].name == name) return i;
  }
  return 0;
}

const NodeState* LbOfRegion(const ClusterState& s, const std::string& region) {
  for (const NodeState* n : s.OfKind("lb")) {
    if (n->region == region) return n;
  }
  return nullptr;
}

std::vector<std::string> LbHostsOfRegion(const ClusterState& s, const std::string& region) {
  std::vector<std::string> hosts;
  for (const NodeState* n : s.OfKind("lb")) {
    if (n->region == region) hosts.push_back(HostOf(n->address));
  }
  return hosts;
}

}  // namespace

const char* DetectionText(Detection d) {
  switch (d) {
    case Detection::kNone:
      return "";
    case Detection::kLbMarksDown:
      return "lb marked the app server down";
    case Detection::kLeaderChanged:
      return "store elected a new leader";
    case Detection::kDnsMovesRegion:
      return "DNS sent the region's clients elsewhere";
    case Detection::kDnsDropsLb:
      return "DNS stopped answering with the dead lb";
    case Detection::kFirstSpike429:
      return "lb answered the spiking client 429";
    case Detection::kCrowdTurnedAway:
      return "lb answered the crowd 503 or 429";
  }
  return "";
}

FaultAction PlanFaultAction(FaultKind kind, const ClusterState& s, int64_t held_ms) {
  FaultAction a;
  if (s.regions.empty()) {
    a.error = "the blueprint has no regions";
    return a;
  }
  const std::string& first_region = s.regions[0].name;
  // A process that is not running cannot be broken: killing it injects
  // nothing, and a fault with no effect must not be reported as survived.
  auto not_running = [&](const std::string& name) {
    const NodeState* n = s.Find(name);
    if (n && n->state == "running") return false;
    a.target = name;
    a.error = name + " is not running (" + (n ? n->state : std::string("unknown")) +
              "): nothing to inject";
    return true;
  };
  auto node_action = [&](const std::string& name, const char* inject, const char* undo) {
    if (not_running(name)) return;
    a.target = name;
    a.inject_path = "/api/nodes/" + name + "/" + inject;
    a.undo_path = "/api/nodes/" + name + "/" + undo;
    a.ok = true;
  };
  switch (kind) {
    case FaultKind::kApp:
    case FaultKind::kSlow: {
      const NodeState* app = s.Find(first_region + "-app-1");
      if (!app) {
        auto apps = s.OfKind("app");
        if (apps.empty()) break;
        app = apps[0];
      }
      const NodeState* lb = LbOfRegion(s, app->region);
      if (kind == FaultKind::kApp) {
        node_action(app->name, "kill", "restart");
      } else {
        // Ended by `nines up` itself after held_ms too (a lease), so a drill
        // killed with SIGKILL cannot leave it slowed.
        node_action(app->name, "slow", "fast");
        a.inject_body = "{\"stop_ms\":" + std::to_string(kSlowStopMs) +
                        ",\"period_ms\":" + std::to_string(kSlowPeriodMs) +
                        ",\"for_ms\":" + std::to_string(std::max<int64_t>(held_ms, 0)) + "}";
      }
      a.detection = lb && !lb->admin.empty() ? Detection::kLbMarksDown : Detection::kNone;
      if (lb) a.lb_admin = lb->admin;
      a.app_address = app->address;
      break;
    }
    case FaultKind::kLb: {
      const NodeState* lb = LbOfRegion(s, first_region);
      if (!lb) break;
      node_action(lb->name, "kill", "restart");
      a.detection = Detection::kDnsDropsLb;
      a.region_index = 0;
      a.dead_lb_hosts = {HostOf(lb->address)};
      break;
    }
    case FaultKind::kLeader:
    case FaultKind::kFreeze:
    case FaultKind::kPartition:
    case FaultKind::kDiskFull:
    case FaultKind::kSlowDisk:
    case FaultKind::kClock: {
      if (s.leader.empty()) {
        a.error = "the store has no leader to break";
        return a;
      }
      if (not_running(s.leader)) return a;
      if (kind == FaultKind::kLeader) node_action(s.leader, "kill", "restart");
      if (kind == FaultKind::kFreeze) node_action(s.leader, "freeze", "thaw");
      if (kind == FaultKind::kPartition) node_action(s.leader, "isolate", "heal");
      // disk-full, slow-disk and clock end by themselves in `nines up` after
      // the hold too (a lease), like slow.
      std::string lease = std::to_string(std::max<int64_t>(held_ms, 0));
      if (kind == FaultKind::kDiskFull) {
        node_action(s.leader, "fill-disk", "free-disk");
        a.inject_body = "{\"for_ms\":" + lease + "}";
      }
      if (kind == FaultKind::kSlowDisk) {
        // The store's slow-disk guard hands leadership away from a leader
        // whose fsyncs stay slow (docs/store.md "When the disk is slow"):
        // detected when another member leads.
        node_action(s.leader, "slow-disk", "fast-disk");
        a.inject_body =
            "{\"delay_ms\":" + std::to_string(kSlowDiskDelayMs) + ",\"for_ms\":" + lease + "}";
      }
      if (kind == FaultKind::kClock) {
        // The store decides expiry on the log's clock, never on a member's
        // wall clock: nothing is expected to notice (no detection measured).
        node_action(s.leader, "clock", "clock-reset");
        a.inject_body =
            "{\"offset_s\":" + std::to_string(kClockJumpS) + ",\"for_ms\":" + lease + "}";
        a.old_leader = s.leader;
        break;
      }
      a.detection = Detection::kLeaderChanged;
      a.old_leader = s.leader;
      break;
    }
    case FaultKind::kRegion: {
      std::string region = first_region;
      if (const NodeState* leader = s.Find(s.leader)) region = leader->region;
      a.target = region;
      if (!s.regions[RegionIndex(s, region)].up) {
        a.error = "region " + region + " is already stopped: nothing to inject";
        return a;
      }
      a.inject_path = "/api/regions/" + region + "/stop";
      a.undo_path = "/api/regions/" + region + "/start";
      a.region_index = RegionIndex(s, region);
      a.dead_lb_hosts = LbHostsOfRegion(s, region);
      a.detection = Detection::kDnsMovesRegion;
      a.old_leader = s.leader;
      a.ok = true;
      break;
    }
    case FaultKind::kSpike:
      a.target = first_region;
      a.detection = Detection::kFirstSpike429;
      a.ok = true;
      break;
    case FaultKind::kCrowd:
      a.target = first_region;
      a.region_index = 0;
      a.detection = Detection::kCrowdTurnedAway;
      a.ok = true;
      break;
  }
  if (!a.ok && a.error.empty()) {
    a.error = std::string("no node to ") + FaultName(kind) + " in this blueprint";
  }
  return a;
}

bool NeedsGrayFaults(const std::vector<FaultKind>& kinds) {
  for (FaultKind k : kinds) {
    if (k == FaultKind::kDiskFull || k == FaultKind::kSlowDisk || k == FaultKind::kClock) {
      return true;
    }
  }
  return false;
}

bool DnsDetects(const FaultAction& action, const std::vector<std::string>& addresses) {
  if (addresses.empty() || action.dead_lb_hosts.empty()) return false;
  for (const std::string& a : addresses) {
    for (const std::string& dead : action.dead_lb_hosts) {
      if (a == dead) return false;
    }
  }
  return true;
}

}  // namespace nines::drill
