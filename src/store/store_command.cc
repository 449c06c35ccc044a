// `nines store --config FILE`: recovers the member from its data directory,
// joins the group and serves RESP2 and HTTP until SIGTERM/SIGINT.
#include "store/store_command.h"

#include <csignal>

#include "base/command_line.h"
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
  CommandLine line("store",
                   "nines store: replicated key-value store (Raft) speaking RESP2 (redis-cli "
                   "works)\nand an HTTP API.");
  line.RequireConfig("store.toml (see examples/store.toml)");
  if (std::optional<int> exit = line.Parse(args)) return *exit;
  std::optional<store::StoreConfig> config =
      CommandLine::ReadConfig(line.config_file(), store::ReadStoreConfig);
  if (!config) return kExitUsage;
  std::signal(SIGPIPE, SIG_IGN);
  try {
    store::StoreServer server(*config);
    Status s = server.Recover();
    if (!s.ok()) {
      LogError("store", "cannot start member {}: {}", config->id, s.ToString());
      return kExitFailure;
    }
    server.Start();
    LogInfo("store", "member {} serving RESP on {}, HTTP on {}, peers on {} ({} members)",
            config->id, config->client.ToString(), config->http.ToString(), config->peer.ToString(),
            config->members.size());
    return server.Run();
  } catch (const std::system_error& e) {
    LogError("store", "{}: {}", e.what(), e.code().message());
    return kExitFailure;
  }
}

}  // namespace nines
