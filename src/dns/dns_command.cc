// Argument parsing for `nines dns`; the work is in DnsServer.
#include "dns/dns_command.h"

#include <cstdio>

#include "base/log.h"
#include "dns/config.h"
#include "dns/server.h"

namespace nines {
namespace {

constexpr const char* kUsage =
    "usage: nines dns --config FILE [--listen ADDR:PORT] [--admin ADDR:PORT]\n"
    "                 [--log-level debug|info|warn|error]\n"
    "\n"
    "Authoritative DNS for one zone that answers each client with the nearest\n"
    "healthy region's load balancers (see docs/dns.md).\n"
    "\n"
    "  --config FILE      dns.toml (required)\n"
    "  --listen ADDR:PORT UDP and TCP address, overriding `listen` (so several\n"
    "                     servers can run from one file)\n"
    "  --admin ADDR:PORT  admin HTTP address (GET /status, GET /metrics),\n"
    "                     overriding `admin` (default 127.0.0.1:9953)\n"
    "  --log-level LEVEL  default info\n"
    "\n"
    "Signals: SIGHUP reloads the config (a bad one is rejected and the old one\n"
    "keeps serving); SIGTERM and SIGINT stop.\n"
    "Exit status: 0 stopped cleanly, 1 runtime failure (cannot bind), 2 bad\n"
    "usage or config (errors printed as FILE:LINE:COL: message).\n";

}  // namespace

Status CheckDnsConfig(const std::string& file) {
  ConfigErrors errors;
  dns::LoadDnsConfig(file, &errors);
  return errors.ToStatus();
}

int RunDnsCommand(const std::vector<std::string>& args) {
  std::string file;
  dns::ServerOverrides overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool has_value = i + 1 < args.size();
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if ((a == "--config" || a == "-c") && has_value) {
      file = args[++i];
    } else if ((a == "--listen" || a == "--admin") && has_value) {
      Endpoint ep;
      if (Status s = ParseEndpoint(args[i + 1], &ep); !s.ok()) {
        std::fprintf(stderr, "nines dns: %s: %s\n", a.c_str(), s.message().c_str());
        return 2;
      }
      (a == "--listen" ? overrides.listen : overrides.admin) = ep;
      ++i;
    } else if (a == "--log-level" && has_value) {
      LogLevel level;
      if (!ParseLogLevel(args[++i], &level)) {
        std::fprintf(stderr, "nines dns: unknown log level '%s'\n", args[i].c_str());
        return 2;
      }
      SetLogLevel(level);
    } else {
      std::fprintf(stderr, "nines dns: unexpected argument '%s'\n\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "nines dns: --config FILE is required\n\n%s", kUsage);
    return 2;
  }
  ConfigErrors errors;
  std::optional<dns::DnsConfig> config = dns::LoadDnsConfig(file, &errors);
  if (!config) {
    std::fprintf(stderr, "%s\n", errors.ToString().c_str());
    return 2;
  }
  dns::DnsServer server(file, overrides);
  return server.Run(std::move(*config));
}

}  // namespace nines
