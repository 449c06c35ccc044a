// `nines lb --config FILE`: validates the config, starts the balancer and
// runs until SIGTERM/SIGINT (drain) with SIGHUP reloads.
#include "lb/lb_command.h"

#include <csignal>

#include "base/command_line.h"
#include "base/log.h"
#include "lb/lb_config.h"
#include "lb/load_balancer.h"

namespace nines {

int RunLbCommand(const std::vector<std::string>& args) {
  CommandLine line("lb",
                   "nines lb: HTTP/1.1 reverse proxy and load balancer with health checks, "
                   "retries,\nbackup servers, draining, hot reload (SIGHUP) and metrics.");
  line.RequireConfig("lb.toml (see examples/lb.toml)");
  if (std::optional<int> exit = line.Parse(args)) return *exit;
  std::optional<lb::LbConfig> config =
      CommandLine::ReadConfig(line.config_file(), lb::ReadLbConfig);
  if (!config) return kExitUsage;
  std::signal(SIGPIPE, SIG_IGN);
  std::string listen = config->listen.ToString();
  std::string admin = config->admin.ToString();
  bool admin_without_token = config->admin_token.empty();
  size_t servers = config->servers.size();
  int threads = config->threads;
  std::string balance = lb::BalanceModeName(config->balance);
  try {
    lb::LoadBalancer lb(std::move(*config));
    lb.Start();
    LogInfo("lb", "listening on {} (admin {}), {} servers, balance {}, {} threads", listen, admin,
            servers, balance, threads);
    if (admin_without_token) {
      LogWarn("lb", "admin {} has no admin_token_file: any local process can drain servers", admin);
    }
    return lb.Run();
  } catch (const std::system_error& e) {
    LogError("lb", "{}: {}", e.what(), e.code().message());
    return kExitFailure;
  } catch (const std::runtime_error& e) {
    LogError("lb", "{}", e.what());
    return kExitFailure;
  }
}

}  // namespace nines
