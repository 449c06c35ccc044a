// nines: one binary, one subcommand per part of the blueprint (DESIGN.md).
// This file only dispatches; each part owns its command line and config.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/command.h"

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

// nines check --config FILE [--kind lb|store|dns|app|blueprint]
int RunCheck(const std::vector<std::string>& args) {
  std::string file;
  std::string kind;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
      file = args[++i];
    } else if (args[i] == "--kind" && i + 1 < args.size()) {
      kind = args[++i];
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: nines check --config FILE [--kind lb|store|dns|app|up]\n\n"
          "Validates a config without starting anything. Every error is printed as\n"
          "FILE:LINE:COL: message. The kind is guessed from the file's keys when not given.\n"
          "Exit status: 0 valid, 2 invalid.\n");
      return 0;
    } else {
      std::fprintf(stderr, "nines check: unexpected argument '%s' (see --help)\n", args[i].c_str());
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "nines check: --config FILE is required\n");
    return 2;
  }
  if (kind.empty()) kind = GuessConfigKind(file);
  if (kind == "blueprint") kind = "up";
  for (const CommandEntry& c : kCommands) {
    if (kind != c.name) continue;
    if (!c.check) {
      std::fprintf(stderr, "nines check: '%s' has no config of its own\n", c.name);
      return 2;
    }
    if (Status s = c.check(file); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 2;
    }
    std::printf("%s: valid %s config\n", file.c_str(), c.name);
    return 0;
  }
  std::fprintf(stderr,
               "nines check: cannot tell what kind of config %s is; pass --kind "
               "lb|store|dns|app|up\n",
               file.c_str());
  return 2;
}

}  // namespace
}  // namespace nines

int main(int argc, char** argv) {
  using namespace nines;
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
