// ParseClusterState and the readiness rule.
#include "drill/cluster_state.h"

#include <nlohmann/json.hpp>

namespace nines::drill {

const NodeState* ClusterState::Find(const std::string& name) const {
  for (const NodeState& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

std::vector<const NodeState*> ClusterState::OfKind(const std::string& kind) const {
  std::vector<const NodeState*> out;
  for (const NodeState& n : nodes) {
    if (n.kind == kind) out.push_back(&n);
  }
  return out;
}

std::string ClusterState::NotReadyReason() const {
  if (nodes.empty()) return "no nodes yet";
  for (const NodeState& n : nodes) {
    if (n.state != "running") return n.name + " is " + n.state;
  }
  if (leader.empty()) return "the store has no leader yet";
  if (regions.empty()) return "no regions";
  return "";
}

namespace {
std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
}  // namespace

Status ParseClusterState(const std::string& text, ClusterState* out) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return Status::InvalidArgument("/api/state is not a JSON object");
  }
  ClusterState s;
  if (!j.contains("nodes") || !j["nodes"].is_array()) {
    return Status::InvalidArgument("/api/state has no \"nodes\" array");
  }
  for (const auto& n : j["nodes"]) {
    if (!n.is_object()) continue;
    NodeState node{Str(n, "name"),    Str(n, "kind"),  Str(n, "region"),
                   Str(n, "address"), Str(n, "admin"), Str(n, "state")};
    if (n.contains("restarts") && n["restarts"].is_number_integer()) {
      node.restarts = n["restarts"].get<int>();
    }
    if (n.contains("pid") && n["pid"].is_number_integer()) node.pid = n["pid"].get<int>();
    s.nodes.push_back(std::move(node));
  }
  s.zone = Str(j, "zone");
  if (j.contains("store") && j["store"].is_object()) {
    const auto& st = j["store"];
    s.leader = Str(st, "leader");
    if (st.contains("term") && st["term"].is_number_integer()) s.term = st["term"].get<long long>();
  }
  if (j.contains("regions") && j["regions"].is_array()) {
    for (const auto& r : j["regions"]) {
      if (!r.is_object()) continue;
      RegionState region{Str(r, "name"), Str(r, "prefix"), true};
      if (r.contains("up") && r["up"].is_boolean()) region.up = r["up"].get<bool>();
      s.regions.push_back(std::move(region));
    }
  }
  *out = std::move(s);
  return Status::Ok();
}

std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

std::string ClientSubnetOf(const RegionState& region, size_t index) {
  const std::string& p = region.prefix;
  if (p.rfind("127.0.", 0) == 0) {
    std::string n = p.substr(6);
    bool digits =
        !n.empty() && n.size() <= 3 && n.find_first_not_of("0123456789") == std::string::npos;
    if (digits && std::stoi(n) <= 255) return "10." + n + ".0.0/24";
  }
  return "10." + std::to_string(index + 1) + ".0.0/24";
}

}  // namespace nines::drill
