// Expanding a blueprint into processes and writing each one's config text
// (lb.toml, dns.toml, store.toml and app.toml as docs/ defines).
#include "up/topology.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "base/secret.h"

namespace nines::up {
namespace {

std::string Host(const RegionSpec& r, int host_number) {
  return fmt::format("{}.{}", r.prefix, host_number);
}

// "us-east-lb" for the only one, "us-east-lb-2" when there are several.
std::string Numbered(const std::string& base, int index, int count) {
  return count == 1 ? base : fmt::format("{}-{}", base, index + 1);
}

std::string StoreId(const RegionSpec& r, int index) {
  return Numbered(r.name, index, r.stores);
}

std::string Quoted(const std::string& s) {
  return fmt::format("\"{}\"", s);
}

std::string QuotedList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += Quoted(items[i]);
  }
  return out + "]";
}

std::string Header(const std::string& what) {
  return fmt::format("# Written by `nines up` for {}: edits are overwritten on the next start.\n",
                     what);
}

std::string LbConfig(const Blueprint& bp, const RegionSpec& region, const NodeSpec& node) {
  std::string t = Header(node.name);
  t += fmt::format("listen = \"{}\"\nadmin = \"{}\"\nadmin_token_file = \"{}\"\n",
                   node.address.ToString(), node.admin.ToString(), kAdminTokenFile);
  t += "balance = \"least_conn\"\nretries = 2\nthreads = 1\nmax_connections = 4096\n";
  // nines app deduplicates POST /orders by this key: a POST whose app died
  // before answering goes to another app.
  t += "idempotency_key_header = \"Idempotency-Key\"\n\n";
  t += "[health]\npath = \"/healthz\"\ninterval_ms = 500\ntimeout_ms = 400\nrise = 2\nfall = 2\n\n";
  t += "[timeouts]\nconnect_ms = 1000\nserver_ms = 10000\ndrain_ms = 2000\n\n";
  // An app that answers, only late (frozen most of the time), is ejected on
  // its time to first byte: 100 ms on average and 3x its peers' median. Apps
  // answer in a few ms; one stopped 500 ms of every 700 averages ~180 ms
  // (5/7 of requests wait 250 ms on average), under a 250 ms threshold.
  t += "[outlier]\nlatency_ms = 100\nlatency_min_samples = 10\n\n";
  t += fmt::format("[rate_limit]\nper_client = \"{}\"\nclient_key = \"ip\"\nglobal = \"{}\"\n",
                   bp.per_client_rate, bp.global_rate);
  // Every lb of the blueprint shares the one global limit ([cluster] peers,
  // this lb's own address included: it is skipped).
  std::vector<std::string> peers;
  for (const RegionSpec& r : bp.regions) {
    for (int i = 0; i < r.lbs; ++i) {
      peers.push_back(fmt::format("{}:{}", Host(r, kFirstLbHost + i), kLbClusterPort));
    }
  }
  if (peers.size() > 1) {
    t += fmt::format("\n[cluster]\nid = \"{}\"\nbind = \"{}:{}\"\npeers = {}\nkey_file = \"{}\"\n",
                     node.name, node.address.host, kLbClusterPort, QuotedList(peers),
                     kLbClusterKeyFile);
  }
  // Own apps first as primaries; every other region's apps are backups
  // (active-passive across regions).
  for (const RegionSpec& r : bp.regions) {
    bool own = r.name == region.name;
    for (int i = 0; i < r.apps; ++i) {
      t += fmt::format("\n[[server]]\nname = \"{}-app-{}\"\naddress = \"{}:{}\"\n{}", r.name, i + 1,
                       Host(r, kFirstAppHost + i), kAppPort, own ? "" : "backup = true\n");
    }
  }
  return t;
}

std::string DnsConfig(const Blueprint& bp, const NodeSpec& node) {
  std::string t = Header(node.name);
  t += fmt::format(
      "listen = \"{}\"\nadmin = \"{}\"\nadmin_token_file = \"{}\"\nzone = \"{}\"\nttl = {}\n"
      "names = [\"www\"]\n",
      node.address.ToString(), node.admin.ToString(), kAdminTokenFile, bp.zone, bp.ttl);
  const RegionSpec& first = bp.regions.front();
  t += fmt::format("default_location = [{}, {}]\n", first.latitude, first.longitude);
  // A client keeps its answer for the TTL: the next-nearest region's lbs
  // follow its own, so one that holds it when its region stops still has a
  // live address. Rotated, so clients spread over a region's lbs.
  int fallback = 0;
  for (const RegionSpec& r : bp.regions) fallback = std::max(fallback, r.lbs);
  t += fmt::format("fallback_addresses = {}\nrotate = true\n\n", std::min(fallback, 8));
  // Each lb's own /healthz on its admin port (200 unless it drains): an lb
  // that sheds a crowd is busy, not down, and moving its region would carry
  // the crowd to the next region. A stopped or killed lb fails it at once.
  t += "[health]\npath = \"/healthz\"\ninterval_ms = 500\ntimeout_ms = 400\nrise = 2\nfall = 2\n";
  for (const RegionSpec& r : bp.regions) {
    std::vector<std::string> lbs;
    lbs.reserve(r.lbs);
    for (int i = 0; i < r.lbs; ++i) lbs.push_back(Host(r, kFirstLbHost + i));
    t += fmt::format(
        "\n[[region]]\nname = \"{}\"\nlocation = [{}, {}]\naddresses = {}\ncheck_port = {}\n"
        "networks = {}\n",
        r.name, r.latitude, r.longitude, QuotedList(lbs), kLbAdminPort, QuotedList(r.networks));
  }
  for (size_t i = 0; i < bp.dns_servers.size(); ++i) {
    t += fmt::format("\n[[nameserver]]\nname = \"ns{}\"\naddress = \"{}\"\n", i + 1,
                     bp.dns_servers[i].host);
  }
  return t;
}

std::string StoreConfig(const Blueprint& bp, const NodeSpec& node, const std::string& id) {
  std::string t = Header(node.name);
  t += fmt::format("id = \"{}\"\ndata_dir = \"{}\"\nclient = \"{}\"\nhttp = \"{}\"\n", id,
                   node.data_dir, node.address.ToString(), node.admin.ToString());
  t += fmt::format("peer = \"{}:{}\"\n", node.address.host, kStorePeerPort);
  // Secrets beside this file (WriteBlueprintSecrets); the dashboard's poller
  // reads /status without the password.
  t += fmt::format("requirepass_file = \"{}\"\ncluster_secret_file = \"{}\"\n", kStorePasswordFile,
                   kClusterSecretFile);
  t += "metrics_without_auth = true\n";
  for (const RegionSpec& r : bp.regions) {
    for (int i = 0; i < r.stores; ++i) {
      std::string host = Host(r, kFirstStoreHost + i);
      t += fmt::format(
          "\n[[member]]\nid = \"{}\"\npeer = \"{}:{}\"\nclient = \"{}:{}\"\nhttp = \"{}:{}\"\n",
          StoreId(r, i), host, kStorePeerPort, host, kStoreClientPort, host, kStoreHttpPort);
    }
  }
  return t;
}

// drain_linger_ms covers the balancers' health.fall * interval_ms (2 x 500)
// so they take the app out before its port closes; drain_ms adds the store
// timeout so a request still waiting on the store is answered.
std::string AppConfig(const Blueprint& bp, const RegionSpec& region, const NodeSpec& node) {
  std::string t = Header(node.name);
  std::vector<std::string> store;
  for (const Endpoint& ep : StoreAddressesFor(bp, region)) store.push_back(ep.ToString());
  t += fmt::format(
      "name = \"{}\"\nregion = \"{}\"\nlisten = \"{}\"\nstore = {}\nstore_timeout_ms = 3000\n"
      "drain_ms = 4000\ndrain_linger_ms = 1000\nmax_connections = 1024\n"
      "store_password_file = \"{}\"\n",
      node.name, region.name, node.address.ToString(), QuotedList(store), kStorePasswordFile);
  return t;
}

}  // namespace

const char* NodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kDns:
      return "dns";
    case NodeKind::kLb:
      return "lb";
    case NodeKind::kApp:
      return "app";
    case NodeKind::kStore:
      return "store";
  }
  return "?";
}

double DistanceKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = M_PI / 180.0;
  double dlat = (lat2 - lat1) * kRad;
  double dlon = (lon2 - lon1) * kRad;
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) + std::cos(lat1 * kRad) *
                                                           std::cos(lat2 * kRad) *
                                                           std::sin(dlon / 2) * std::sin(dlon / 2);
  return 6371.0 * 2 * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

std::vector<Endpoint> StoreAddressesFor(const Blueprint& bp, const RegionSpec& region) {
  std::vector<const RegionSpec*> order;
  for (const RegionSpec& r : bp.regions) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [&](const RegionSpec* a, const RegionSpec* b) {
    return DistanceKm(region.latitude, region.longitude, a->latitude, a->longitude) <
           DistanceKm(region.latitude, region.longitude, b->latitude, b->longitude);
  });
  std::vector<Endpoint> out;
  for (const RegionSpec* r : order) {
    for (int i = 0; i < r->stores; ++i) {
      out.push_back({Host(*r, kFirstStoreHost + i), static_cast<uint16_t>(kStoreClientPort)});
    }
  }
  return out;
}

Status WriteBlueprintSecrets(const std::string& run_dir) {
  for (const char* name :
       {kStorePasswordFile, kClusterSecretFile, kLbClusterKeyFile, kAdminTokenFile}) {
    std::string path = fmt::format("{}/conf/{}", run_dir, name);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;  // kept across runs; --fresh makes new ones
    if (fd < 0)
      return Status::IoError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
    std::string secret = RandomSecret() + "\n";
    bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size());
    ::close(fd);
    if (!ok) return Status::IoError(fmt::format("cannot write {}", path));
  }
  return Status::Ok();
}

std::vector<NodeSpec> ExpandBlueprint(const Blueprint& bp, const std::string& run_dir) {
  std::vector<NodeSpec> nodes;
  auto add = [&](NodeSpec n) {
    n.config_path = fmt::format("{}/conf/{}.toml", run_dir, n.name);
    nodes.push_back(std::move(n));
  };
  for (size_t i = 0; i < bp.dns_servers.size(); ++i) {
    NodeSpec n;
    n.name = fmt::format("dns-{}", i + 1);
    n.kind = NodeKind::kDns;
    n.address = bp.dns_servers[i];
    n.admin = {bp.dns_servers[i].host, static_cast<uint16_t>(bp.dns_admin_port)};
    n.config_text = DnsConfig(bp, n);
    add(std::move(n));
  }
  for (const RegionSpec& r : bp.regions) {
    for (int i = 0; i < r.lbs; ++i) {
      NodeSpec n;
      n.name = Numbered(r.name + "-lb", i, r.lbs);
      n.kind = NodeKind::kLb;
      n.region = r.name;
      n.address = {Host(r, kFirstLbHost + i), static_cast<uint16_t>(kLbPort)};
      n.admin = {Host(r, kFirstLbHost + i), static_cast<uint16_t>(kLbAdminPort)};
      n.config_text = LbConfig(bp, r, n);
      add(std::move(n));
    }
    for (int i = 0; i < r.apps; ++i) {
      NodeSpec n;
      n.name = fmt::format("{}-app-{}", r.name, i + 1);
      n.kind = NodeKind::kApp;
      n.region = r.name;
      n.address = {Host(r, kFirstAppHost + i), static_cast<uint16_t>(kAppPort)};
      n.admin = n.address;
      n.config_text = AppConfig(bp, r, n);
      add(std::move(n));
    }
    for (int i = 0; i < r.stores; ++i) {
      NodeSpec n;
      n.name = Numbered(r.name + "-store", i, r.stores);
      n.kind = NodeKind::kStore;
      n.region = r.name;
      n.address = {Host(r, kFirstStoreHost + i), static_cast<uint16_t>(kStoreClientPort)};
      n.admin = {Host(r, kFirstStoreHost + i), static_cast<uint16_t>(kStoreHttpPort)};
      n.data_dir = fmt::format("{}/data/{}", run_dir, n.name);
      n.store_id = StoreId(r, i);
      n.config_text = StoreConfig(bp, n, n.store_id);
      add(std::move(n));
    }
  }
  return nodes;
}

}  // namespace nines::up
