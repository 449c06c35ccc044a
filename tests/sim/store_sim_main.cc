// nines_sim_store: whole store members under a seeded simulation.
//   nines_sim_store --seeds N --first S   runs seeds S..S+N-1
//   nines_sim_store --seed S -v           replays one seed with an event trace
//   --expect-violation                    exit 0 only if some seed fails (planted bugs);
//                                         stops at the first that does
//   --scenario truncate-below-snapshot    every seed runs the scripted scenario
//                                         (store_sim.h; else only every 100th seed)
//   --slow-disks                          disks turn slow at random (the slow-disk guard)
// Prints "sim-store: N seeds, V violations" (V: seeds with a violation).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "base/log.h"
#include "store_sim.h"

namespace {

uint64_t g_seed = 0;
uint64_t g_ran = 0;
uint64_t g_violations = 0;
bool g_expect_violation = false;
bool g_scripted = false;
bool g_slow_disks = false;

// A broken invariant aborts mid-seed: report it with the replay command.
void OnAbort(int) {
  std::printf("seed %llu: aborted on a broken invariant (see stderr)\n",
              static_cast<unsigned long long>(g_seed));
  std::printf("  replay: nines_sim_store --seed %llu -v\n",
              static_cast<unsigned long long>(g_seed));
  std::printf("sim-store: %llu seeds, %llu violations\n",
              static_cast<unsigned long long>(g_ran + 1),
              static_cast<unsigned long long>(g_violations + 1));
  std::fflush(stdout);
  _exit(g_expect_violation ? 0 : 1);
}

bool ParseU64(const char* s, uint64_t* out) {
  char* end = nullptr;
  *out = std::strtoull(s, &end, 10);
  return end && *end == '\0' && end != s;
}

int Usage() {
  std::fprintf(stderr,
               "usage: nines_sim_store [--seeds N] [--first S] [--seed S] [-v] "
               "[--expect-violation] [--scenario truncate-below-snapshot] [--slow-disks]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 1, first = 1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--seeds" || arg == "--first" || arg == "--seed") && i + 1 < argc) {
      uint64_t v = 0;
      if (!ParseU64(argv[++i], &v)) return Usage();
      if (arg == "--seeds") seeds = v;
      if (arg == "--first") first = v;
      if (arg == "--seed") first = v, seeds = 1;
    } else if (arg == "-v" || arg == "--trace") {
      verbose = true;
    } else if (arg == "--scenario" && i + 1 < argc &&
               std::string(argv[i + 1]) == "truncate-below-snapshot") {
      g_scripted = true;
      ++i;
    } else if (arg == "--slow-disks") {
      g_slow_disks = true;
    } else if (arg == "--expect-violation") {
      g_expect_violation = true;
    } else {
      return Usage();
    }
  }
  // The members' own log lines only in a replay (warnings: torn tails, recoveries).
  nines::SetLogLevel(verbose ? nines::LogLevel::kWarn : static_cast<nines::LogLevel>(4));
  std::signal(SIGABRT, OnAbort);
  uint64_t scripted = 0, scripted_crashes = 0, slow_disks = 0, slow_disk_transfers = 0;
  for (uint64_t s = first; s < first + seeds; ++s) {
    g_seed = s;
    nines::sim::StoreSimResult r =
        nines::sim::RunStoreSimulation(s, verbose ? &std::cout : nullptr, g_scripted, g_slow_disks);
    slow_disks += r.slow_disks;
    slow_disk_transfers += r.slow_disk_transfers;
    ++g_ran;
    scripted += r.scripted ? 1 : 0;
    scripted_crashes += r.scripted_crash ? 1 : 0;
    if (!r.violations.empty()) {
      ++g_violations;
      std::printf("seed %llu: %zu violation(s)\n", static_cast<unsigned long long>(s),
                  r.violations.size());
      for (size_t i = 0; i < r.violations.size() && i < 5; ++i) {
        std::printf("  %s\n", r.violations[i].c_str());
      }
      std::printf("  replay: nines_sim_store --seed %llu -v%s%s\n",
                  static_cast<unsigned long long>(s),
                  g_scripted ? " --scenario truncate-below-snapshot" : "",
                  g_slow_disks ? " --slow-disks" : "");
      if (g_expect_violation) break;  // the planted bug is caught: later seeds add nothing
    }
    if (verbose && r.gave_up)
      std::printf("seed %llu: linearizability check gave up\n", static_cast<unsigned long long>(s));
  }
  std::printf("sim-store: %llu seeds, %llu violations\n", static_cast<unsigned long long>(g_ran),
              static_cast<unsigned long long>(g_violations));
  if (g_slow_disks) {
    std::printf("sim-store: %llu slow disks, %llu slow-disk leadership hand-offs\n",
                static_cast<unsigned long long>(slow_disks),
                static_cast<unsigned long long>(slow_disk_transfers));
  }
  if (scripted > 0) {
    std::printf(
        "sim-store: truncate-below-snapshot scenario on %llu seeds, crash point reached on %llu\n",
        static_cast<unsigned long long>(scripted),
        static_cast<unsigned long long>(scripted_crashes));
  }
  std::fflush(stdout);
  if (g_expect_violation) return g_violations > 0 ? 0 : 1;
  return g_violations == 0 ? 0 : 1;
}
