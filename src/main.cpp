// nines: one binary, one subcommand per part of the blueprint (DESIGN.md).
// This file only dispatches; each part owns its command line and config.
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/command.h"
#include "base/command_line.h"

#include "app/app_command.h"
#include "dns/dns_command.h"
#include "drill/drill_command.h"
#include "lb/lb_command.h"
#include "store/store_command.h"
#include "up/up_command.h"

namespace nines {
namespace {

struct CommandEntry {
  const char* name;
  const char* summary;
  CommandFunction run;        // null: `check`, which main runs itself
  ConfigCheckFunction check;  // null: this command has no config of its own
};

const CommandEntry kCommands[] = {
    {"lb", "HTTP/1.1 reverse proxy and load balancer", RunLbCommand, CheckLbConfig},
    {"store", "one member of the replicated key-value store (Redis protocol + HTTP JSON)",
     RunStoreCommand, CheckStoreConfig},
    {"dns", "authoritative DNS global traffic manager", RunDnsCommand, CheckDnsConfig},
    {"app", "reference stateless web service that keeps its data in the store", RunAppCommand,
     CheckAppConfig},
    {"up", "the whole blueprint on this machine, with a live dashboard", RunUpCommand,
     CheckBlueprintConfig},
    {"drill", "drive load through the blueprint while injecting faults; report nines",
     RunDrillCommand, nullptr},
    {"check", "validate any config; print every error as FILE:LINE:COL: message", nullptr, nullptr},
};

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "nines: the high-availability blueprint in one binary\n\n"
               "usage: nines COMMAND [options]   (nines COMMAND --help for its options)\n\n"
               "commands:\n");
  for (const CommandEntry& c : kCommands) std::fprintf(out, "  %-7s %s\n", c.name, c.summary);
  std::fprintf(out, "\nexit status: 0 success, 1 runtime failure, 2 bad usage or config\n");
}

// nines check --config FILE [--kind lb|store|dns|app|up]
int RunCheck(const std::vector<std::string>& args) {
  CommandLine line("check",
                   "Validates a config without starting anything. Every error is printed as "
                   "FILE:LINE:COL: message. The kind is guessed from the file's keys when not "
                   "given. Exit status: 0 valid, 2 invalid.");
  line.RequireConfig("the config file to validate (e.g. lb.toml)");
  std::string kind;
  line.cli().add_option("--kind", kind,
                        "lb, store, dns, app or up (blueprint); guessed when not given");
  if (std::optional<int> exit = line.Parse(args)) return *exit;
  const std::string& file = line.config_file();
  if (kind.empty()) kind = GuessConfigKind(file);
  if (kind == "blueprint") kind = "up";
  for (const CommandEntry& c : kCommands) {
    if (kind != c.name) continue;
    if (!c.check) return line.UsageError("'" + kind + "' has no config of its own");
    if (Status s = c.check(file); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 2;
    }
    std::printf("%s: valid %s config\n", file.c_str(), c.name);
    return 0;
  }
  return line.UsageError("cannot tell what kind of config " + file +
                         " is; pass --kind lb|store|dns|app|up");
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    PrintUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string_view name = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (name == "check") return RunCheck(args);
  for (const CommandEntry& c : kCommands) {
    if (name == c.name) return c.run(args);
  }
  std::fprintf(stderr, "nines: unknown command '%s'\n\n", argv[1]);
  PrintUsage(stderr);
  return 2;
}

}  // namespace
}  // namespace nines

int main(int argc, char** argv) {
  // Commands report their errors themselves; this is the last resort for an
  // exception nothing expected (out of memory, a bug).
  try {
    return nines::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nines: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "nines: unknown exception\n");
  }
  return 1;
}
