// What `nines up` says about the blueprint (GET /api/state, docs/up.md):
// parsed into plain structs, with the questions the drill asks of it
// (is everything running, who leads the store, where are the lbs).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nines::drill {

struct NodeState {
  std::string name, kind, region, address, admin, state;
  int restarts = 0;
  int pid = 0;  // 0: not running or not reported
};

struct RegionState {
  std::string name;
  std::string prefix;  // "127.0.1"
  bool up = true;
};

struct ClusterState {
  std::vector<NodeState> nodes;
  std::vector<RegionState> regions;
  std::string leader;  // store leader node name, "" if none
  std::string zone;    // the service name, when up reports it
  long long term = 0;

  const NodeState* Find(const std::string& name) const;
  std::vector<const NodeState*> OfKind(const std::string& kind) const;
  // "" when ready, else what is still missing ("us-east-app-2 is starting").
  std::string NotReadyReason() const;
};

// Parses the JSON of GET /api/state into *out; InvalidArgument on malformed input.
Status ParseClusterState(const std::string& json, ClusterState* out);

// The host part of "A.B.C.D:PORT".
std::string HostOf(const std::string& address);
// The client network a region's users come from: "10.N.0.0/24" for prefix
// "127.0.N" (DESIGN.md's built-in networks), else "10.<index+1>.0.0/24".
std::string ClientSubnetOf(const RegionState& region, size_t index);

}  // namespace nines::drill
