// The blueprint `nines up` runs: regions with their load balancers, app
// servers and store members on loopback prefixes, the DNS servers, rate
// limits and the dashboard address. Read from blueprint.toml or built in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/config.h"

namespace nines::up {

// Fixed ports inside every region (DESIGN.md's built-in blueprint table).
inline constexpr int kLbPort = 8080;
inline constexpr int kLbAdminPort = 9901;
inline constexpr int kLbClusterPort = 9902;  // UDP: the lbs' shared global rate limit
inline constexpr int kAppPort = 8081;
inline constexpr int kStoreClientPort = 6380;
inline constexpr int kStoreHttpPort = 7380;
inline constexpr int kStorePeerPort = 7480;
// Host numbers inside a region's /24: lbs .1-.9, apps .11-.19, store .21-.29.
inline constexpr int kFirstLbHost = 1;
inline constexpr int kFirstAppHost = 11;
inline constexpr int kFirstStoreHost = 21;
inline constexpr int kMaxPerKind = 9;
inline constexpr int kMaxRegions = 16;
inline constexpr int kMaxDnsServers = 8;

struct RegionSpec {
  std::string name;
  double latitude = 0;
  double longitude = 0;
  std::string prefix;  // "127.0.1": the region's hosts are prefix.H
  int lbs = 2;         // active-active: DNS answers with every healthy one
  int apps = 3;
  int stores = 1;
  std::vector<std::string> networks;  // client networks for DNS, "10.N.0.0/16"
};

struct Blueprint {
  std::string zone = "shop.test.";
  int ttl = 5;
  std::vector<Endpoint> dns_servers;  // UDP and TCP
  int dns_admin_port = 9953;          // admin HTTP on each DNS server's host
  std::string per_client_rate = "50/s";
  std::string global_rate = "10000/s";
  Endpoint dashboard{"127.0.0.1", 9900};
  std::vector<RegionSpec> regions;
};

// DESIGN.md's built-in blueprint: us-east, us-west, eu-west.
Blueprint BuiltInBlueprint();

// Advice that does not stop a run ("warning: ..."): a dashboard on a
// non-loopback address.
std::vector<std::string> BlueprintWarnings(const Blueprint& bp);

// Reads blueprint.toml; every problem goes to `errors` as FILE:LINE:COL.
std::optional<Blueprint> ReadBlueprint(const std::string& file, ConfigErrors* errors);
std::optional<Blueprint> ParseBlueprintText(const std::string& text, const std::string& file,
                                            ConfigErrors* errors);

}  // namespace nines::up
