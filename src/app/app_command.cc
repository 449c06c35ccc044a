// `nines app`: flags, config, then AppServer until drained.
#include "app/app_command.h"

#include <csignal>

#include "app/app_config.h"
#include "app/app_server.h"
#include "base/command_line.h"
#include "base/log.h"

namespace nines {

Status CheckAppConfig(const std::string& file) {
  ConfigErrors errors;
  app::ReadAppConfig(file, &errors);
  return errors.ToStatus();
}

int RunAppCommand(const std::vector<std::string>& args) {
  CommandLine line(
      "app",
      "nines app: the reference stateless web service (orders API) keeping all of its\n"
      "state in the nines store through the Redis protocol. See docs/app.md.");
  line.RequireConfig("app.toml (see examples/app.toml)");
  if (std::optional<int> exit = line.Parse(args)) return *exit;
  std::optional<app::AppConfig> config =
      CommandLine::ReadConfig(line.config_file(), app::ReadAppConfig);
  if (!config) return kExitUsage;
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
    return kExitFailure;
  }
}

}  // namespace nines
