// nines_chaos: three real `nines store` members under a nemesis while
// clients read, write, compare-and-set, INCR and run typed MULTI/EXEC
// transactions (hashes, lists, sets, sorted sets); then every fault is healed,
// every key is read once more, and the history is checked. Ends with
// `chaos: N operations, V violations` (exit 1 when V > 0).
//   nines_chaos [--seconds N] [--seed S] [--net N] [--nines PATH] [--dir DIR] [--min-ops N]
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "cluster.h"
#include "convergence.h"
#include "history.h"
#include "nemesis.h"
#include "partition.h"
#include "support/wait.h"
#include "workload.h"

namespace {

volatile std::sig_atomic_t g_signal = 0;

void OnSignal(int sig) {
  g_signal = sig;
}

struct Args {
  int64_t seconds = 60;
  uint64_t seed = 0;
  int net = 201;
  std::string nines;
  std::string dir;
  uint64_t min_ops = 1;
};

int Usage() {
  std::fprintf(stderr,
               "usage: nines_chaos [--seconds N] [--seed S] [--net N (127.0.N.1-3)] "
               "[--nines PATH] [--dir DIR] [--min-ops N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using nines::chaos::Outcome;
  Args args;
  args.seed =
      static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000;
  if (const char* bin = std::getenv("NINES_BIN")) args.nines = bin;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string v = argv[++i];
    if (a == "--seconds") {
      args.seconds = std::atoll(v.c_str());
    } else if (a == "--seed") {
      args.seed = std::strtoull(v.c_str(), nullptr, 10);
    } else if (a == "--net") {
      args.net = std::atoi(v.c_str());
    } else if (a == "--nines") {
      args.nines = v;
    } else if (a == "--dir") {
      args.dir = v;
    } else if (a == "--min-ops") {
      args.min_ops = std::strtoull(v.c_str(), nullptr, 10);
    } else {
      return Usage();
    }
  }
  if (args.nines.empty() || args.seconds <= 0 || args.net < 1 || args.net > 254) return Usage();
  args.nines = std::filesystem::absolute(args.nines).lexically_normal().string();
  if (args.dir.empty()) {
    args.dir = (std::filesystem::path(args.nines).parent_path() / "test-out" /
                fmt::format("chaos-{}", args.net))
                   .string();
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  auto start = std::chrono::steady_clock::now();
  std::mutex log_mu;
  auto log = [&](const std::string& line) {
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard lock(log_mu);
    std::printf("%7.1fs %s\n", t, line.c_str());
    std::fflush(stdout);
  };
  std::printf("chaos: seed %llu, %lld s, members on 127.0.%d.1-3, files in %s\n",
              static_cast<unsigned long long>(args.seed), static_cast<long long>(args.seconds),
              args.net, args.dir.c_str());

  nines::chaos::Cluster cluster({args.nines, args.dir, args.net, true, true});
  nines::chaos::Partition partition(fmt::format("NINES-CHAOS-{}", args.net));
  for (const std::string& note : cluster.notes()) log("note: " + note);
  if (!partition.unavailable().empty()) log("note: " + partition.unavailable());
  cluster.StartAll();
  if (cluster.WaitLeader(30000) < 0) {
    std::printf("chaos: no leader within 30 s of the start (logs in %s)\n", args.dir.c_str());
    return 1;
  }
  // The TTL keys outlive the run (and the final reads) by 10 minutes, far
  // less than most forward clock jumps (up to 2 h): a leader that stamped its
  // jumped clock into the log would expire them.
  nines::chaos::Workload workload(cluster,
                                  {.seed = args.seed, .ttl_ms = (args.seconds + 600) * 1000});
  nines::chaos::Nemesis nemesis(cluster, partition, args.seed, log);
  workload.Start();
  nemesis.Start();
  int64_t next_progress = 60;
  while (g_signal == 0) {
    int64_t elapsed =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
            .count();
    if (elapsed >= args.seconds) break;
    if (elapsed >= next_progress) {
      auto c = workload.Counts();
      log(fmt::format("progress: {} ok, {} failed, {} unknown", c.ok, c.failed, c.unknown));
      next_progress += 60;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  nemesis.Stop();  // heals everything
  if (g_signal != 0) {
    workload.Stop();
    std::printf("chaos: stopped by signal %d; members stopped, rules removed\n",
                static_cast<int>(g_signal));
    return 130;
  }
  log("healed; waiting for a leader");
  int leader = cluster.WaitLeader(30000);
  // The clients go on until they have made progress on the healed cluster
  // (polled, at most 10 s), then the final reads.
  const uint64_t ok_at_heal = workload.Counts().ok;
  if (!nines::test::WaitUntil([&] { return workload.Counts().ok >= ok_at_heal + 50; }, 10000)) {
    log(fmt::format("clients: {} operations acknowledged within 10 s of the heal",
                    workload.Counts().ok - ok_at_heal));
  }
  workload.Stop();
  std::vector<std::string> unread;
  std::vector<nines::chaos::Op> finals = workload.FinalReads(60000, &unread);
  std::vector<nines::chaos::Op> history = workload.History();
  nines::chaos::CheckReport report = nines::chaos::CheckHistory(history, finals);
  if (leader < 0) report.violations.push_back("no leader within 30 s after every fault was healed");
  for (const std::string& key : unread) {
    report.violations.push_back(fmt::format("key {}: no final read within 60 s of the heal", key));
  }
  // Every member's own state comes to agree with the others'.
  std::vector<std::string> keys;
  keys.reserve(finals.size());
  for (const auto& op : finals) keys.push_back(op.key);
  for (std::string& line : nines::chaos::CheckConvergence(cluster, keys, 30000)) {
    report.violations.push_back(std::move(line));
  }

  // The operations of every key with a violation ("key K: ..."), in call order.
  std::set<std::string> bad_keys;
  for (const std::string& v : report.violations) {
    if (v.rfind("key ", 0) == 0) bad_keys.insert(v.substr(4, v.find(':') - 4));
  }
  std::vector<const nines::chaos::Op*> shown;
  for (const auto* ops : {&history, &finals}) {
    for (const auto& op : *ops) {
      if (bad_keys.count(op.key) != 0) shown.push_back(&op);
    }
  }
  std::stable_sort(shown.begin(), shown.end(),
                   [](const auto* a, const auto* b) { return a->call_us < b->call_us; });
  std::ofstream out(args.dir + "/history.txt");
  for (const auto* op : shown) out << op->key << " " << nines::chaos::Describe(*op) << "\n";

  for (size_t i = 0; i < report.violations.size() && i < 20; ++i) {
    std::printf("violation: %s\n", report.violations[i].c_str());
  }
  auto counts = workload.Counts();
  std::string faults;
  for (const auto& [kind, n] : nemesis.counts()) faults += fmt::format(" {} {},", kind, n);
  if (!faults.empty()) faults.pop_back();
  std::printf("chaos: seed %llu; faults:%s; members that exited on their own: %d\n",
              static_cast<unsigned long long>(args.seed), faults.empty() ? " none" : faults.c_str(),
              nemesis.exits());
  std::printf(
      "chaos: %llu ok, %llu certainly not applied, %llu unknown, %llu unexpected replies; "
      "%llu keys (%llu too long to check); violating keys' operations in %s/history.txt\n",
      static_cast<unsigned long long>(counts.ok), static_cast<unsigned long long>(counts.failed),
      static_cast<unsigned long long>(counts.unknown),
      static_cast<unsigned long long>(counts.unexpected),
      static_cast<unsigned long long>(report.keys),
      static_cast<unsigned long long>(report.unchecked_keys), args.dir.c_str());
  std::printf("chaos: %llu operations, %zu violations\n",
              static_cast<unsigned long long>(report.operations), report.violations.size());
  cluster.Shutdown();
  if (!report.violations.empty()) return 1;
  if (report.operations < args.min_ops) {
    std::printf("chaos: fewer than %llu operations: the run proves nothing\n",
                static_cast<unsigned long long>(args.min_ops));
    return 1;
  }
  return 0;
}
