// dns.toml: the global traffic manager's config (DESIGN.md "Global traffic
// manager"), read with base/config's TableReader so every error is
// FILE:LINE:COL and unknown keys are errors. Also builds the Zone answered.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "dns/responder.h"
#include "health/health_checker.h"

namespace nines::dns {

struct DnsConfig {
  Endpoint listen;          // UDP and TCP
  Endpoint admin;           // GET /status, GET /metrics, POST /reload
  std::string admin_token;  // admin_token / admin_token_file: needed for POST /reload
  std::string zone_text;    // "shop.test."
  health::HealthCheckSpec health;
  std::vector<int> check_ports;  // per region, in config order
  int max_tcp_connections = 64;
  int tcp_idle_timeout_ms = 10000;
  Zone zone;  // everything the responder needs
};

inline constexpr const char* kDefaultAdmin = "127.0.0.1:9953";
inline constexpr int kMaxFallbackAddresses = 8;

// Parses a config text; on errors fills `errors` and returns nullopt.
std::optional<DnsConfig> ParseDnsConfig(std::string_view text, const std::string& file,
                                        ConfigErrors* errors);
// Reads and parses a file.
std::optional<DnsConfig> LoadDnsConfig(const std::string& file, ConfigErrors* errors);

}  // namespace nines::dns
