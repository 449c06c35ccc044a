// nines_sim: runs seeded cluster simulations and reports violations.
//   nines_sim --seeds N --first S   runs seeds S..S+N-1
//   nines_sim --seed S --trace      replays one seed with an event trace
//   nines_sim --failover --seeds N  measures leader-crash failover time
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "simulation.h"

namespace {

// A broken invariant in the core aborts mid-seed: report it as a violation
// of that seed, with the replay command, instead of dying silently.
uint64_t g_seed = 0;
uint64_t g_ran = 0;
uint64_t g_violations = 0;
bool g_expect_violation = false;
bool g_failover = false;
const char* g_argv0 = "nines_sim";

void OnAbort(int) {
  std::printf("seed %llu: aborted on a broken invariant (see stderr)\n",
              static_cast<unsigned long long>(g_seed));
  std::vector<std::string> seen = nines::sim::CurrentViolations();
  for (size_t i = 0; i < seen.size() && i < 5; ++i) std::printf("  %s\n", seen[i].c_str());
  std::printf("  replay: %s --seed %llu --trace%s\n", g_argv0,
              static_cast<unsigned long long>(g_seed), g_failover ? " --failover" : "");
  std::printf("sim: %llu seeds, %llu violations\n", static_cast<unsigned long long>(g_ran + 1),
              static_cast<unsigned long long>(g_violations + 1));
  std::fflush(stdout);
  _exit(g_expect_violation ? 0 : 1);
}

int Usage() {
  std::fprintf(stderr,
               "usage: nines_sim [--seeds N] [--first S] [--seed S] [--trace] [--failover]\n"
               "                 [--expect-violation]\n");
  return 2;
}

bool ParseU64(const char* s, uint64_t* out) {
  char* end = nullptr;
  *out = std::strtoull(s, &end, 10);
  return end && *end == '\0' && end != s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nines::sim;
  uint64_t seeds = 1, first = 1;
  bool trace = false, failover = false, single = false, expect_violation = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--seeds" && has_value) {
      if (!ParseU64(argv[++i], &seeds)) return Usage();
    } else if (a == "--first" && has_value) {
      if (!ParseU64(argv[++i], &first)) return Usage();
    } else if (a == "--seed" && has_value) {
      if (!ParseU64(argv[++i], &first)) return Usage();
      seeds = 1;
      single = true;
    } else if (a == "--trace") {
      trace = true;
    } else if (a == "--failover") {
      failover = true;
    } else if (a == "--expect-violation") {
      expect_violation = true;  // planted-fault tests: stop at the first violation
    } else {
      return Usage();
    }
  }
  (void)single;
  g_argv0 = argv[0];
  g_expect_violation = expect_violation;
  g_failover = failover;
  std::signal(SIGABRT, OnAbort);
  uint64_t violations = 0, failed_seeds = 0, gave_up = 0, ops = 0, fault_free = 0;
  std::vector<int64_t> failover_us;
  uint64_t ran = 0;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.trace = trace;
    o.scenario = failover ? Scenario::kFailover : Scenario::kChaos;
    g_seed = seed;
    SimResult r = RunSimulation(o);
    ++ran;
    g_ran = ran;
    ops += r.ops;
    gave_up += r.linearizability_gave_up;
    if (r.linearizability_gave_up) {
      std::printf("seed %llu: linearizability search gave up on a key (not counted)\n",
                  static_cast<unsigned long long>(seed));
    }
    fault_free += !r.faults;
    if (r.failover_us >= 0) failover_us.push_back(r.failover_us);
    if (!r.violations.empty()) {
      violations += r.violations.size();
      g_violations = violations;
      ++failed_seeds;
      std::printf("seed %llu (%d members): %zu violation(s)\n",
                  static_cast<unsigned long long>(seed), r.members, r.violations.size());
      for (size_t i = 0; i < r.violations.size() && i < 5; ++i) {
        std::printf("  %s\n", r.violations[i].c_str());
      }
      std::printf("  replay: %s --seed %llu --trace%s\n", argv[0],
                  static_cast<unsigned long long>(seed), failover ? " --failover" : "");
      if (expect_violation) break;
    }
  }
  std::printf(
      "sim: checked %llu client operations; %llu fault-free seeds; %llu histories "
      "too large to check\n",
      static_cast<unsigned long long>(ops), static_cast<unsigned long long>(fault_free),
      static_cast<unsigned long long>(gave_up));
  if (!failover_us.empty()) {
    std::sort(failover_us.begin(), failover_us.end());
    auto pct = [&](double p) {
      size_t i = std::min(failover_us.size() - 1, static_cast<size_t>(p * failover_us.size()));
      return failover_us[i] / 1000.0;
    };
    size_t under2 = std::count_if(failover_us.begin(), failover_us.end(),
                                  [](int64_t us) { return us < 2'000'000; });
    std::printf(
        "failover (leader crash -> write committed by new leader), %zu runs: p50 %.0f ms, "
        "p90 %.0f ms, p99 %.0f ms, max %.0f ms, under 2 s: %.2f%%\n",
        failover_us.size(), pct(0.5), pct(0.9), pct(0.99), failover_us.back() / 1000.0,
        100.0 * under2 / failover_us.size());
    // Acceptance: >= 99% under 2 s and a median under 1 s.
    if (under2 * 100 < 99 * failover_us.size() || pct(0.5) >= 1000.0) {
      std::printf("failover: FAILED the target (99%% under 2 s, median under 1 s)\n");
      ++violations;
    }
  }
  std::printf("sim: %llu seeds, %llu violations\n", static_cast<unsigned long long>(ran),
              static_cast<unsigned long long>(violations));
  if (expect_violation) return violations > 0 ? 0 : 1;
  return violations == 0 ? 0 : 1;
}
