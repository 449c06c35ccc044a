// blueprint.toml reading and the built-in blueprint (DESIGN.md's table).
#include "up/blueprint.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "up/topology.h"

namespace nines::up {
namespace {

RegionSpec MakeRegion(std::string name, double lat, double lon, int n) {
  RegionSpec r;
  r.name = std::move(name);
  r.latitude = lat;
  r.longitude = lon;
  r.prefix = fmt::format("127.0.{}", n);
  r.networks = {fmt::format("10.{}.0.0/16", n)};
  return r;
}

// "127.A.B": three dotted numbers inside 127.0.0.0/8, so that prefix.H is a loopback host.
bool ValidPrefix(const std::string& prefix) {
  uint32_t ip = 0;
  if (!ParseIpv4Address(prefix + ".0", &ip)) return false;
  return (ip >> 24) == 127;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

void ReadRegion(TableReader& t, size_t index, Blueprint* bp) {
  RegionSpec r;
  std::optional<std::string> name = t.RequiredString("name");
  if (name) {
    if (!ValidName(*name)) {
      t.ErrorAt("name", fmt::format("'{}': region names are 1-32 of [a-z0-9-]", *name));
    }
    r.name = *name;
  }
  if (!t.Has("location")) {
    t.Error(fmt::format("{}: 'location' = [lat, lon] is required", t.path()));
  } else {
    std::vector<double> loc = t.Floats("location");
    if (loc.size() != 2 || loc[0] < -90 || loc[0] > 90 || loc[1] < -180 || loc[1] > 180) {
      t.ErrorAt("location", "'location' must be [lat, lon] with lat in -90..90, lon in -180..180");
    } else {
      r.latitude = loc[0];
      r.longitude = loc[1];
    }
  }
  std::optional<std::string> prefix = t.RequiredString("prefix");
  if (prefix) {
    if (!ValidPrefix(*prefix)) {
      t.ErrorAt("prefix", fmt::format("'prefix' must be three numbers inside 127.0.0.0/8 such as "
                                      "\"127.0.1\", not \"{}\"",
                                      *prefix));
    }
    r.prefix = *prefix;
  }
  r.lbs = static_cast<int>(t.Integer("lbs", r.lbs, 1, kMaxPerKind));
  r.apps = static_cast<int>(t.Integer("apps", 3, 1, kMaxPerKind));
  r.stores = static_cast<int>(t.Integer("stores", 1, 0, kMaxPerKind));
  if (t.Has("networks")) {
    r.networks = t.Strings("networks");
    for (const std::string& n : r.networks) {
      Ipv4Network parsed;
      if (!ParseIpv4Network(n, &parsed)) {
        t.ErrorAt("networks", fmt::format("'networks': '{}' is not an IPv4 network a.b.c.d/n", n));
      }
    }
  } else {
    r.networks = {fmt::format("10.{}.0.0/16", index + 1)};
  }
  t.Finish();
  bp->regions.push_back(std::move(r));
}

// Two listeners collide on the same port if their hosts are equal or one is
// the wildcard 0.0.0.0.
bool SameSocket(const Endpoint& a, const Endpoint& b) {
  return a.port == b.port && (a.host == b.host || a.host == "0.0.0.0" || b.host == "0.0.0.0");
}

// Every generated process name, store member id and listening address must
// be unique, or a child crash-loops on "address in use" or the store group
// has two members with one id.
void CheckGenerated(const Blueprint& bp, TableReader& top) {
  std::vector<NodeSpec> nodes = ExpandBlueprint(bp, "/check");
  std::map<std::string, std::string> names;
  std::map<std::string, std::string> store_ids;
  std::vector<std::pair<Endpoint, std::string>> sockets = {{bp.dashboard, "the dashboard"}};
  for (const NodeSpec& n : nodes) {
    if (!names.emplace(n.name, n.region).second) {
      top.Error(fmt::format("process name '{}' is generated twice; rename a region", n.name));
    }
    if (n.kind == NodeKind::kStore) {
      auto [it, fresh] = store_ids.emplace(n.store_id, n.name);
      if (!fresh) {
        top.Error(
            fmt::format("store member id '{}' is generated twice (by {} and {}); rename "
                        "a region",
                        n.store_id, it->second, n.name));
      }
      sockets.push_back(
          {Endpoint{n.address.host, static_cast<uint16_t>(kStorePeerPort)}, n.name + " (peers)"});
    }
    sockets.push_back({n.address, n.name});
    if (n.kind != NodeKind::kApp) {  // an app serves its status on its own address
      sockets.push_back({n.admin, n.name + " (admin)"});
    }
    if (n.kind == NodeKind::kLb) {
      sockets.push_back({Endpoint{n.address.host, static_cast<uint16_t>(kLbClusterPort)},
                         n.name + " (rate-limit cluster)"});
    }
  }
  for (size_t i = 0; i < sockets.size(); ++i) {
    for (size_t j = i + 1; j < sockets.size(); ++j) {
      if (SameSocket(sockets[i].first, sockets[j].first)) {
        top.Error(fmt::format("address {} is used twice: by {} and by {}",
                              sockets[j].first.ToString(), sockets[i].second, sockets[j].second));
      }
    }
  }
}

}  // namespace

std::vector<std::string> BlueprintWarnings(const Blueprint& bp) {
  std::vector<std::string> out;
  uint32_t ip = 0;
  if (!ParseIpv4Address(bp.dashboard.host, &ip) || (ip >> 24) != 127) {
    out.push_back(fmt::format(
        "warning: the dashboard listens on {}, which is not a loopback address: anyone who can "
        "reach it can kill, freeze and isolate processes (it has no authentication)",
        bp.dashboard.ToString()));
  }
  return out;
}

Blueprint BuiltInBlueprint() {
  Blueprint bp;
  bp.dns_servers = {{"127.0.0.1", 5353}, {"127.0.0.2", 5353}};
  bp.regions = {MakeRegion("us-east", 38.9, -77.0, 1), MakeRegion("us-west", 37.4, -122.1, 2),
                MakeRegion("eu-west", 53.3, -6.3, 3)};
  return bp;
}

static std::optional<Blueprint> ParseBlueprintFromRoot(const ConfigValue& root,
                                                       const std::string& file,
                                                       ConfigErrors* errors) {
  size_t before = errors->lines().size();
  Blueprint bp;
  TableReader top(&root, file, "", errors);
  if (std::optional<Endpoint> ep = top.EndpointValue("dashboard", false)) bp.dashboard = *ep;
  if (std::optional<TableReader> dns = top.Table("dns")) {
    bp.zone = dns->String("zone", bp.zone);
    if (bp.zone.empty() || bp.zone.back() != '.') {
      dns->ErrorAt("zone", fmt::format("'dns.zone' must end with a dot, like \"shop.test.\""));
    }
    bp.ttl = static_cast<int>(dns->Integer("ttl", bp.ttl, 0, 86400));
    bp.dns_admin_port = static_cast<int>(dns->Integer("admin_port", bp.dns_admin_port, 1, 65535));
    if (dns->Has("servers")) {
      for (const std::string& s : dns->Strings("servers")) {
        Endpoint ep;
        if (Status st = ParseEndpoint(s, &ep); !st.ok()) {
          dns->ErrorAt("servers", fmt::format("'dns.servers': {}", st.message()));
        } else {
          bp.dns_servers.push_back(ep);
        }
      }
      if (bp.dns_servers.empty() || bp.dns_servers.size() > kMaxDnsServers) {
        dns->ErrorAt("servers",
                     fmt::format("'dns.servers' needs 1 to {} addresses", kMaxDnsServers));
      }
    }
    dns->Finish();
  }
  if (bp.dns_servers.empty()) bp.dns_servers = BuiltInBlueprint().dns_servers;
  if (std::optional<TableReader> rl = top.Table("rate_limit")) {
    if (rl->Has("per_client") && rl->RateValue("per_client")) {
      bp.per_client_rate = rl->String("per_client", bp.per_client_rate);
    }
    if (rl->Has("global") && rl->RateValue("global")) {
      bp.global_rate = rl->String("global", bp.global_rate);
    }
    rl->Finish();
  }
  std::vector<TableReader> regions = top.TableArray("region");
  if (regions.empty()) {
    top.Error("a blueprint needs at least one [[region]] (name, location, prefix)");
  }
  if (regions.size() > kMaxRegions) {
    top.ErrorAt("region", fmt::format("at most {} regions", kMaxRegions));
  }
  for (size_t i = 0; i < regions.size(); ++i) ReadRegion(regions[i], i, &bp);
  std::set<std::string> names;
  std::set<std::string> prefixes;
  int store_members = 0;
  for (size_t i = 0; i < bp.regions.size(); ++i) {
    const RegionSpec& r = bp.regions[i];
    SourcePos pos = i < regions.size() ? regions[i].PosOf("name") : SourcePos{};
    if (!r.name.empty() && !names.insert(r.name).second) {
      errors->Add(file, pos, fmt::format("region '{}' is defined twice", r.name));
    }
    if (!r.prefix.empty() && !prefixes.insert(r.prefix).second) {
      errors->Add(file, regions[i].PosOf("prefix"),
                  fmt::format("prefix '{}' is used by two regions", r.prefix));
    }
    store_members += r.stores;
  }
  if (!bp.regions.empty() && store_members == 0) {
    top.Error("the blueprint needs at least one store member ('stores' in some [[region]])");
  }
  if (errors->lines().size() == before) CheckGenerated(bp, top);
  top.Finish();
  if (errors->lines().size() != before) return std::nullopt;
  return bp;
}

std::optional<Blueprint> ParseBlueprintText(const std::string& text, const std::string& file,
                                            ConfigErrors* errors) {
  std::optional<ConfigValue> root = ParseConfigText(text, file, errors);
  if (!root) return std::nullopt;
  return ParseBlueprintFromRoot(*root, file, errors);
}

std::optional<Blueprint> ReadBlueprint(const std::string& file, ConfigErrors* errors) {
  std::optional<ConfigValue> root = LoadConfigFile(file, errors);
  if (!root) return std::nullopt;
  return ParseBlueprintFromRoot(*root, file, errors);
}

}  // namespace nines::up
