// `nines lb --config FILE`: validates the config, starts the balancer and
// runs until SIGTERM/SIGINT (drain) with SIGHUP reloads.
#include "lb/lb_command.h"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>

#include "base/log.h"
#include "lb/lb_config.h"
#include "lb/load_balancer.h"

namespace nines {

int RunLbCommand(const std::vector<std::string>& args) {
  CLI::App app{
      "nines lb: HTTP/1.1 reverse proxy and load balancer with health checks, retries,\n"
      "backup servers, draining, hot reload (SIGHUP) and metrics.",
      "nines lb"};
  std::string config_file;
  std::string log_level = "info";
  app.add_option("-c,--config", config_file, "lb.toml (see examples/lb.toml)")->required();
  app.add_option("--log-level", log_level, "debug, info, warn or error");
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  LogLevel level;
  if (!ParseLogLevel(log_level, &level)) {
    std::fprintf(stderr, "nines lb: bad --log-level '%s'\n", log_level.c_str());
    return 2;
  }
  SetLogLevel(level);

  ConfigErrors errors;
  std::optional<lb::LbConfig> config = lb::ReadLbConfig(config_file, &errors);
  if (!config) {
    std::fprintf(stderr, "%s\n", errors.ToString().c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::string listen = config->listen.ToString();
  std::string admin = config->admin.ToString();
  size_t servers = config->servers.size();
  int threads = config->threads;
  std::string balance = lb::BalanceModeName(config->balance);
  try {
    lb::LoadBalancer lb(std::move(*config));
    lb.Start();
    LogInfo("lb", "listening on {} (admin {}), {} servers, balance {}, {} threads", listen, admin,
            servers, balance, threads);
    return lb.Run();
  } catch (const std::system_error& e) {
    LogError("lb", "{}: {}", e.what(), e.code().message());
    return 1;
  } catch (const std::runtime_error& e) {
    LogError("lb", "{}", e.what());
    return 1;
  }
}

}  // namespace nines
