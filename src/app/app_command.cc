// `nines app`: flags, config, then AppServer until drained.
#include "app/app_command.h"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>

#include "app/app_config.h"
#include "app/app_server.h"
#include "base/log.h"

namespace nines {

Status CheckAppConfig(const std::string& file) {
  ConfigErrors errors;
  app::ReadAppConfig(file, &errors);
  return errors.ToStatus();
}

int RunAppCommand(const std::vector<std::string>& args) {
  CLI::App cli{
      "nines app: the reference stateless web service (orders API) keeping all of its\n"
      "state in the nines store through the Redis protocol. See docs/app.md.",
      "nines app"};
  std::string config_file;
  std::string log_level = "info";
  cli.add_option("-c,--config", config_file, "app.toml (see examples/app.toml)")->required();
  cli.add_option("--log-level", log_level, "debug, info, warn or error");
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    cli.parse(reversed);
  } catch (const CLI::ParseError& e) {
    int code = cli.exit(e);
    return code == 0 ? 0 : 2;
  }
  LogLevel level;
  if (!ParseLogLevel(log_level, &level)) {
    std::fprintf(stderr, "nines app: bad --log-level '%s'\n", log_level.c_str());
    return 2;
  }
  SetLogLevel(level);
  ConfigErrors errors;
  std::optional<app::AppConfig> config = app::ReadAppConfig(config_file, &errors);
  if (!config) {
    std::fprintf(stderr, "%s\n", errors.ToString().c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  try {
    app::AppServer server(*config);
    server.Start();
    std::string members;
    for (const Endpoint& e : config->store) members += (members.empty() ? "" : ", ") + e.ToString();
    LogInfo("app", "{} ({}) serving HTTP on {}, store members {}", config->name, config->region,
            config->listen.ToString(), members);
    return server.Run();
  } catch (const std::system_error& e) {
    LogError("app", "{}: {}", e.what(), e.code().message());
    return 1;
  }
}

}  // namespace nines
