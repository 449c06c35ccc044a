// `nines store --config FILE`: recovers the member from its data directory,
// joins the group and serves RESP2 and HTTP until SIGTERM/SIGINT.
#include "store/store_command.h"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>

#include "base/log.h"
#include "store/store_config.h"
#include "store/store_server.h"

namespace nines {

Status CheckStoreConfig(const std::string& file) {
  ConfigErrors errors;
  store::ReadStoreConfig(file, &errors);
  return errors.ToStatus();
}

int RunStoreCommand(const std::vector<std::string>& args) {
  CLI::App app{
      "nines store: replicated key-value store (Raft) speaking RESP2 (redis-cli works)\n"
      "and an HTTP API.",
      "nines store"};
  std::string config_file;
  std::string log_level = "info";
  app.add_option("-c,--config", config_file, "store.toml (see examples/store.toml)")->required();
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
    std::fprintf(stderr, "nines store: bad --log-level '%s'\n", log_level.c_str());
    return 2;
  }
  SetLogLevel(level);
  ConfigErrors errors;
  std::optional<store::StoreConfig> config = store::ReadStoreConfig(config_file, &errors);
  if (!config) {
    std::fprintf(stderr, "%s\n", errors.ToString().c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  try {
    store::StoreServer server(*config);
    Status s = server.Recover();
    if (!s.ok()) {
      LogError("store", "cannot start member {}: {}", config->id, s.ToString());
      return 1;
    }
    server.Start();
    LogInfo("store", "member {} serving RESP on {}, HTTP on {}, peers on {} ({} members)",
            config->id, config->client.ToString(), config->http.ToString(), config->peer.ToString(),
            config->members.size());
    return server.Run();
  } catch (const std::system_error& e) {
    LogError("store", "{}: {}", e.what(), e.code().message());
    return 1;
  }
}

}  // namespace nines
