// The processes a blueprint expands to: one NodeSpec per process with its
// name (us-east-app-2), kind, addresses, and the config file `nines up`
// writes for it under the run directory.
#pragma once

#include <string>
#include <vector>

#include "base/config.h"
#include "base/status.h"
#include "up/blueprint.h"

namespace nines::up {

enum class NodeKind { kDns, kLb, kApp, kStore };
const char* NodeKindName(NodeKind kind);

struct NodeSpec {
  std::string name;  // unique: dns-1, us-east-lb, us-east-app-1, us-east-store
  NodeKind kind = NodeKind::kApp;
  std::string region;       // "" for DNS servers
  Endpoint address;         // what clients use: DNS port, lb listen, app listen, store RESP
  Endpoint admin;           // HTTP status endpoint: dns/lb admin, app listen, store http
  std::string config_path;  // RUN/conf/NAME.toml
  std::string config_text;
  std::string data_dir;  // store only
  std::string store_id;  // store only: the member id in store.toml
  // NAME=VALUE added to the child's environment (libfaketime for gray faults).
  std::vector<std::string> env;
};

// Every process of `bp`, DNS first, then per region lbs, apps, store members.
// `run_dir` must be absolute: configs name their files by absolute path.
std::vector<NodeSpec> ExpandBlueprint(const Blueprint& bp, const std::string& run_dir);

// The secrets the generated configs name, in RUN_DIR/conf (docs/up.md "Security"):
// the store's password (requirepass_file, the apps' store_password_file) and
// the store members' cluster secret (cluster_secret_file), and the key that
// signs the load balancers' rate-limit reports ([cluster] key_file), and the
// admin token.
inline constexpr const char* kStorePasswordFile = "store.password";
inline constexpr const char* kClusterSecretFile = "store-cluster.secret";
inline constexpr const char* kLbClusterKeyFile = "lb-cluster.key";
// The admin token of the dashboard and of every lb's and dns server's admin
// listener (admin_token_file).
inline constexpr const char* kAdminTokenFile = "admin.token";

// Creates each secret file with fresh random contents (mode 0600) unless it
// exists. Returns "" or the error.
Status WriteBlueprintSecrets(const std::string& run_dir);

// The app servers' store list: the region's own members, then the others by
// distance from the region (nearest first).
std::vector<Endpoint> StoreAddressesFor(const Blueprint& bp, const RegionSpec& region);

// Great-circle distance in km between two [lat, lon] points.
double DistanceKm(double lat1, double lon1, double lat2, double lon2);

}  // namespace nines::up
