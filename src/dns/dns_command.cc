// Argument parsing for `nines dns`; the work is in DnsServer.
#include "dns/dns_command.h"

#include <optional>

#include "base/command_line.h"
#include "dns/config.h"
#include "dns/server.h"

namespace nines {
namespace {

// An --listen or --admin value: "" leaves `out` unset. Returns an error or "".
std::string ParseOverride(const std::string& text, std::optional<Endpoint>* out) {
  if (text.empty()) return "";
  Endpoint ep;
  Status s = ParseEndpoint(text, &ep);
  if (s.ok()) *out = ep;
  return s.message();
}

}  // namespace

Status CheckDnsConfig(const std::string& file) {
  ConfigErrors errors;
  dns::LoadDnsConfig(file, &errors);
  return errors.ToStatus();
}

int RunDnsCommand(const std::vector<std::string>& args) {
  CommandLine line("dns",
                   "nines dns: authoritative DNS for one zone that answers each client with the\n"
                   "nearest healthy region's load balancers (see docs/dns.md).");
  line.RequireConfig("dns.toml (see examples/dns.toml)");
  std::string listen;
  std::string admin;
  line.cli()
      .add_option("--listen", listen, "UDP and TCP address, overriding `listen`")
      ->type_name("ADDR:PORT");
  line.cli()
      .add_option("--admin", admin, "admin HTTP address (/status, /metrics), overriding `admin`")
      ->type_name("ADDR:PORT");
  line.cli().footer(
      "--listen and --admin let several servers run from one file.\n"
      "Signals: SIGHUP reloads the config (a bad one is rejected and the old one\n"
      "keeps serving); SIGTERM and SIGINT stop.\n"
      "Exit status: 0 stopped cleanly, 1 runtime failure (cannot bind), 2 bad\n"
      "usage or config (errors printed as FILE:LINE:COL: message).");
  if (std::optional<int> exit = line.Parse(args)) return *exit;
  dns::ServerOverrides overrides;
  if (std::string err = ParseOverride(listen, &overrides.listen); !err.empty()) {
    return line.UsageError("--listen: " + err);
  }
  if (std::string err = ParseOverride(admin, &overrides.admin); !err.empty()) {
    return line.UsageError("--admin: " + err);
  }
  std::optional<dns::DnsConfig> config =
      CommandLine::ReadConfig(line.config_file(), dns::LoadDnsConfig);
  if (!config) return kExitUsage;
  dns::DnsServer server(line.config_file(), overrides);
  return server.Run(std::move(*config));
}

}  // namespace nines
