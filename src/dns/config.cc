// Reading dns.toml: top-level keys, [health], [[region]], [[nameserver]].
#include "dns/config.h"

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "dns/name.h"
#include "http/admin_token.h"

namespace nines::dns {
namespace {

// A name relative to the zone ("www") or absolute ("www.shop.test.").
bool ResolveName(const std::string& text, const std::string& zone_wire, std::string* wire) {
  if (!text.empty() && text.back() == '.') return NameFromText(text, wire);
  std::string relative;
  if (!NameFromText(text, &relative) || relative.size() == 1) return false;
  *wire = relative.substr(0, relative.size() - 1) + zone_wire;
  return wire->size() <= 255;
}

uint32_t Fnv1a(std::string_view text) {
  uint32_t h = 2166136261u;
  for (char c : text) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h == 0 ? 1 : h;
}

}  // namespace

std::optional<DnsConfig> ParseDnsConfig(std::string_view text, const std::string& file,
                                        ConfigErrors* errors) {
  std::optional<ConfigValue> root = ParseConfigText(text, file, errors);
  if (!root) return std::nullopt;
  TableReader top(&*root, file, "", errors);
  DnsConfig c;
  if (auto listen = top.EndpointValue("listen", true)) c.listen = *listen;
  if (top.Has("admin")) {
    if (auto admin = top.EndpointValue("admin", false)) c.admin = *admin;
  } else {
    top.EndpointValue("admin", false);
    (void)ParseEndpoint(kDefaultAdmin, &c.admin);
  }
  c.admin_token = http::ReadAdminToken(top, c.admin, "admin", "dns");
  Zone& zone = c.zone;
  if (auto zone_text = top.RequiredString("zone")) {
    c.zone_text = *zone_text;
    if (!NameFromText(*zone_text, &zone.apex) || zone.apex.size() == 1) {
      top.ErrorAt("zone", fmt::format("'zone': \"{}\" is not a domain name", *zone_text));
      zone.apex.clear();
    }
  }
  zone.ttl = static_cast<uint32_t>(top.Integer("ttl", 10, 0, 86400));
  zone.negative_ttl = zone.ttl;
  zone.serial = static_cast<uint32_t>(
      top.Integer("serial", static_cast<int64_t>(Fnv1a(text)), 1, 4294967295));
  AnswerOptions answer_options;
  answer_options.fallback_addresses =
      static_cast<int>(top.Integer("fallback_addresses", 0, 0, kMaxFallbackAddresses));
  answer_options.rotate = top.Bool("rotate", false);
  c.max_tcp_connections = static_cast<int>(top.Integer("max_tcp_connections", 64, 1, 10000));
  c.tcp_idle_timeout_ms =
      static_cast<int>(top.Integer("tcp_idle_timeout_ms", 10000, 100, 3'600'000));

  if (auto health = top.Table("health")) {
    c.health =
        health::ReadHealthSpec(*health);  // shared with lb: path, interval_ms, timeout_ms, ...
    health->Finish();
  } else if (!top.Has("health")) {
    top.Error("missing required table [health]");
  }

  // Names answered by the policy besides the apex.
  std::vector<std::string> names = top.Strings("names");
  for (const std::string& n : names) {
    std::string wire;
    if (zone.apex.empty()) break;
    if (!ResolveName(n, zone.apex, &wire) || RelativeLength(wire, zone.apex) <= 0) {
      top.ErrorAt("names", fmt::format("'names': \"{}\" is not a name inside the zone", n));
      continue;
    }
    zone.policy_names.push_back(wire);
  }

  std::vector<RegionSpec> regions;
  std::set<std::string> region_names;
  std::vector<TableReader> region_tables = top.TableArray("region");
  if (region_tables.empty() && !top.Has("region")) {
    top.Error("at least one [[region]] is required");
  }
  for (TableReader& r : region_tables) {
    RegionSpec spec;
    if (auto name = r.RequiredString("name")) {
      spec.name = *name;
      if (spec.name.empty() || !region_names.insert(spec.name).second) {
        r.ErrorAt("name",
                  fmt::format("'{}.name': \"{}\" is empty or used twice", r.path(), spec.name));
      }
    }
    if (!r.Has("location")) {
      r.Floats("location");
      r.Error(fmt::format("missing required key '{}.location' ([lat, lon])", r.path()));
    } else {
      std::vector<double> location = r.Floats("location");
      if (location.size() != 2 || location[0] < -90 || location[0] > 90 || location[1] < -180 ||
          location[1] > 180) {
        r.ErrorAt("location", fmt::format("'{}.location' must be [latitude (-90..90), longitude "
                                          "(-180..180)]",
                                          r.path()));
      } else {
        spec.latitude = location[0];
        spec.longitude = location[1];
      }
    }
    std::vector<std::string> addresses = r.Strings("addresses");
    if (addresses.empty()) {
      r.ErrorAt("addresses",
                fmt::format("'{}.addresses' must list at least one address", r.path()));
    }
    for (const std::string& a : addresses) {
      IpAddress ip;
      if (!ParseIpAddress(a, &ip)) {
        r.ErrorAt("addresses", fmt::format("'{}.addresses': \"{}\" is not an IPv4 or IPv6 address",
                                           r.path(), a));
        continue;
      }
      spec.addresses.push_back(ip);
    }
    c.check_ports.push_back(static_cast<int>(r.Integer("check_port", 80, 1, 65535)));
    for (const std::string& n : r.Strings("networks")) {
      IpPrefix prefix;
      if (Status s = ParseIpPrefix(n, &prefix); !s.ok()) {
        r.ErrorAt("networks", fmt::format("'{}.networks': {}", r.path(), s.message()));
        continue;
      }
      spec.networks.push_back(prefix);
    }
    r.Finish();
    regions.push_back(std::move(spec));
  }

  double default_lat = regions.empty() ? 0 : regions[0].latitude;
  double default_lon = regions.empty() ? 0 : regions[0].longitude;
  if (top.Has("default_location")) {
    std::vector<double> location = top.Floats("default_location");
    if (location.size() != 2 || location[0] < -90 || location[0] > 90 || location[1] < -180 ||
        location[1] > 180) {
      top.ErrorAt("default_location",
                  "'default_location' must be [latitude (-90..90), longitude (-180..180)]");
    } else {
      default_lat = location[0];
      default_lon = location[1];
    }
  } else {
    top.Floats("default_location");
  }

  for (TableReader& n : top.TableArray("nameserver")) {
    NameServer ns;
    auto name = n.RequiredString("name");
    auto address = n.RequiredString("address");
    if (name && !zone.apex.empty() && !ResolveName(*name, zone.apex, &ns.name)) {
      n.ErrorAt("name", fmt::format("'{}.name': \"{}\" is not a domain name", n.path(), *name));
    }
    if (address && !ParseIpAddress(*address, &ns.address)) {
      n.ErrorAt("address", fmt::format("'{}.address': \"{}\" is not an IPv4 or IPv6 address",
                                       n.path(), *address));
    }
    n.Finish();
    zone.nameservers.push_back(std::move(ns));
  }
  top.Finish();
  if (!errors->empty()) return std::nullopt;

  // No [[nameserver]]: one, ns1.<zone>, at the listen address.
  if (zone.nameservers.empty()) {
    NameServer ns;
    ResolveName("ns1", zone.apex, &ns.name);
    ParseIpAddress(c.listen.host, &ns.address);
    zone.nameservers.push_back(std::move(ns));
  }
  ResolveName("hostmaster", zone.apex, &zone.hostmaster);
  zone.policy = AnswerPolicy(std::move(regions), default_lat, default_lon, answer_options);
  return c;
}

std::optional<DnsConfig> LoadDnsConfig(const std::string& file, ConfigErrors* errors) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    errors->Add(file, SourcePos{0, 0}, "cannot open config file");
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseDnsConfig(buffer.str(), file, errors);
}

}  // namespace nines::dns
