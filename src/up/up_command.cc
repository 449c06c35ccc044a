// `nines up`: writes every process's config under the run directory, starts
// them as children, shows progress, prints the addresses once all are ready,
// serves the dashboard, and on SIGINT/SIGTERM stops everything and exits 0.
#include "up/up_command.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/command_line.h"
#include "base/log.h"
#include "base/secret.h"
#include "http/client.h"
#include "up/api.h"
#include "up/run_dir.h"

namespace nines {
namespace {

namespace fs = std::filesystem;
using namespace nines::up;

constexpr int kStopTimeoutMs = 5000;
constexpr int64_t kStartupWarnMs = 60000;

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// Refuses a run directory another live `nines up` is using.
Status ClaimRunDir(const std::string& run_dir) {
  std::string pid_file = run_dir + "/up.pid";
  std::ifstream in(pid_file);
  long pid = 0;
  if (in >> pid && pid > 0 && pid != getpid() && kill(static_cast<pid_t>(pid), 0) == 0) {
    std::ifstream comm(fmt::format("/proc/{}/comm", pid));
    std::string name;
    comm >> name;
    if (name == "nines") {
      return Status::InvalidArgument(fmt::format(
          "{} is in use by another nines up (pid {}); stop it or use --dir", run_dir, pid));
    }
  }
  if (!WriteText(pid_file, fmt::format("{}\n", getpid()))) {
    return Status::IoError("cannot write " + pid_file);
  }
  return Status::Ok();
}

void PrintAddresses(const Blueprint& bp, const Supervisor& sup, const std::string& run_dir) {
  std::string dns;
  for (const Endpoint& ep : bp.dns_servers) dns += ep.ToString() + "  ";
  std::printf("\nnines up: the blueprint is running (%zu processes, run dir %s)\n",
              sup.nodes().size(), run_dir.c_str());
  std::printf("  %-14s %s (UDP and TCP), zone %s\n", "DNS", dns.c_str(), bp.zone.c_str());
  for (const NodeSpec& n : sup.nodes()) {
    if (n.kind != NodeKind::kLb) continue;
    std::printf("  %-14s http://%s/   admin http://%s/status\n", n.name.c_str(),
                n.address.ToString().c_str(), n.admin.ToString().c_str());
  }
  std::printf("  %-14s http://%s/  (admin token in %s/conf/%s)\n", "dashboard",
              bp.dashboard.ToString().c_str(), run_dir.c_str(), kAdminTokenFile);
  if (bp.regions.size() > 1 && !bp.dns_servers.empty()) {
    std::printf("\n  try:  dig @%s -p %d %s +subnet=%s +short\n", bp.dns_servers[0].host.c_str(),
                bp.dns_servers[0].port, bp.zone.c_str(),
                bp.regions[1].networks.empty() ? "10.2.0.0/24" : bp.regions[1].networks[0].c_str());
    std::printf("        curl -X POST -d '{\"item\":\"book\"}' http://%s.%d:%d/orders\n",
                bp.regions[1].prefix.c_str(), kFirstLbHost, kLbPort);
  }
  std::printf("\nCtrl-C stops everything.\n");
  std::fflush(stdout);
}

int RunBlueprint(const Blueprint& bp, const std::string& run_dir_arg, bool fresh, bool gray_faults,
                 bool exit_with_parent) {
  std::error_code ec;
  std::string run_dir = fs::absolute(run_dir_arg, ec).lexically_normal().string();
  if (!run_dir.empty() && run_dir.back() == '/') run_dir.pop_back();
  // A `nines up --gray-faults` killed with SIGKILL leaves its members' tmpfs
  // mounted (docs/up.md "Gray faults"): unmount them before anything else.
  if (IsNinesRunDir(run_dir) && ClaimRunDir(run_dir).ok()) {
    if (int n = GrayFaults::UnmountDataDirs(run_dir); n > 0) {
      LogInfo("up", "unmounted {} file system(s) a killed nines up left under {}", n, run_dir);
    }
  }
  if (fresh && fs::exists(run_dir)) {
    // Not in a directory another live run is using, nor one nines up did not make.
    // Refuses (deleting nothing) unless the directory is marked or empty.
    Status s = IsNinesRunDir(run_dir) ? ClaimRunDir(run_dir) : Status::Ok();
    if (s.ok()) s = WipeRunDir(run_dir);
    if (!s.ok()) {
      std::fprintf(stderr, "nines up: %s\n", s.message().c_str());
      return 1;
    }
  }
  Status s = PrepareRunDir(run_dir);
  if (s.ok()) s = ClaimRunDir(run_dir);
  if (s.ok()) s = WriteBlueprintSecrets(run_dir);
  if (!s.ok()) {
    std::fprintf(stderr, "nines up: %s\n", s.message().c_str());
    return 1;
  }
  std::vector<NodeSpec> nodes = ExpandBlueprint(bp, run_dir);
  std::unique_ptr<GrayFaults> gray;
  if (gray_faults) {
    gray = std::make_unique<GrayFaults>();
    for (const std::string& note : gray->Enable(&nodes, run_dir)) LogWarn("up", "{}", note);
  }
  for (const NodeSpec& n : nodes) {
    if (!WriteText(n.config_path, n.config_text)) {
      std::fprintf(stderr, "nines up: cannot write %s\n", n.config_path.c_str());
      return 1;
    }
    if (http::TcpConnects(n.address.host, n.address.port, 200) ||
        http::TcpConnects(n.admin.host, n.admin.port, 200)) {
      std::fprintf(stderr,
                   "nines up: %s (%s) is already taken by another process; is another nines up "
                   "running?\n",
                   n.address.ToString().c_str(), n.name.c_str());
      return 1;
    }
  }

  // SIGINT, SIGTERM and SIGHUP are taken by sigtimedwait in the main loop; blocked
  // before any thread starts so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (exit_with_parent) {
    // A parent killed with SIGKILL (a drill) sends us SIGTERM: the same
    // orderly stop as Ctrl-C, which undoes every fault still held.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) raise(SIGTERM);  // the parent is already gone
  }

  Supervisor supervisor(std::move(nodes), run_dir);
  StatePoller poller(&supervisor);
  Isolation isolation;
  // A `nines up` killed with SIGKILL cannot remove its chain: do it now, or
  // an address it isolated stays cut off (its node stuck in "starting").
  if (geteuid() == 0) isolation.RemoveAll();
  Spike spike;
  MetricsRegistry metrics;
  std::string admin_token, token_warning;
  if (Status token_read = ReadSecretFile(fmt::format("{}/conf/{}", run_dir, kAdminTokenFile), "",
                                         &admin_token, &token_warning);
      !token_read.ok()) {
    std::fprintf(stderr, "nines up: %s\n", token_read.message().c_str());
    return 1;
  }
  if (!token_warning.empty()) LogWarn("up", "{}", token_warning);
  Headroom headroom(run_dir + "/data/capacity.json");
  UpContext ctx{&bp,      &supervisor,  &poller,     &isolation, &spike,
                &metrics, WallMillis(), admin_token, gray.get(), &headroom};
  RegisterUpMetrics(ctx);

  asio::io_context io;
  auto work = asio::make_work_guard(io);
  http::SimpleServer server(
      io, bp.dashboard,
      [&ctx](const http::Request& req, const http::Responder& respond) {
        respond(HandleUpRequest(ctx, req));
      },
      http::ServerOptions{256, 64 * 1024, 10000, 60000});
  try {
    server.Start();
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "nines up: dashboard %s: %s\n", bp.dashboard.ToString().c_str(), e.what());
    return 1;
  }
  std::thread io_thread([&io] { io.run(); });

  size_t total = supervisor.nodes().size();
  std::printf("nines up: starting %zu processes (configs and logs in %s)\n", total,
              run_dir.c_str());
  // The token, once: the dashboard asks for it (or takes it from the link).
  std::printf(
      "nines up: dashboard http://%s/#token=%s\n"
      "          admin token %s (also in %s/conf/%s)\n",
      bp.dashboard.ToString().c_str(), admin_token.c_str(), admin_token.c_str(), run_dir.c_str(),
      kAdminTokenFile);
  std::fflush(stdout);
  int64_t start_ms = SteadyClock::Instance().NowMillis();
  supervisor.StartAll(start_ms);
  poller.Start();

  std::set<std::string> announced;
  bool all_ready = false;
  bool warned = false;
  int stop_signal = 0;
  while (stop_signal == 0) {
    timespec wait{0, 50 * 1000 * 1000};
    int sig = sigtimedwait(&stop_signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {  // HUP: the terminal went away
      stop_signal = sig;
      break;
    }
    int64_t now = SteadyClock::Instance().NowMillis();
    supervisor.Tick(now);
    if (gray) {
      for (std::string& ended : gray->Tick(now)) supervisor.Note(std::move(ended));
    }
    if (!all_ready) {
      std::vector<NodeStatus> statuses = supervisor.Snapshot();
      for (size_t i = 0; i < statuses.size(); ++i) {
        const NodeSpec& spec = supervisor.nodes()[i];
        if (statuses[i].state != NodeState::kRunning || announced.count(spec.name)) continue;
        announced.insert(spec.name);
        std::printf("  [%2zu/%zu] %-16s ready  %-18s pid %d  (%.1f s)\n", announced.size(), total,
                    spec.name.c_str(), spec.address.ToString().c_str(), statuses[i].pid,
                    (now - start_ms) / 1000.0);
        std::fflush(stdout);
      }
      if (supervisor.AllReady()) {
        all_ready = true;
        poller.ResetCounters();
        PrintAddresses(bp, supervisor, run_dir);
      } else if (!warned && now - start_ms > kStartupWarnMs) {
        warned = true;
        std::string missing;
        for (const NodeSpec& n : supervisor.nodes()) {
          if (!announced.count(n.name)) missing += " " + n.name;
        }
        std::fprintf(stderr, "nines up: still waiting after %lld s for:%s (see %s/logs/NAME.log)\n",
                     static_cast<long long>(kStartupWarnMs / 1000), missing.c_str(),
                     run_dir.c_str());
      }
    }
  }

  std::printf("\nnines up: %s: stopping every process...\n", strsignal(stop_signal));
  std::fflush(stdout);
  spike.Stop();
  poller.Stop();
  supervisor.StopAll(kStopTimeoutMs);
  isolation.RemoveAll();
  if (gray) gray->Cleanup();  // clocks back, fillers removed, tmpfs unmounted
  server.Stop();
  work.reset();
  io.stop();
  io_thread.join();
  fs::remove(run_dir + "/up.pid", ec);
  std::printf("nines up: stopped; nothing left running\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace

Status CheckBlueprintConfig(const std::string& file) {
  ConfigErrors errors;
  std::optional<Blueprint> bp = ReadBlueprint(file, &errors);
  if (bp) {
    for (const std::string& w : BlueprintWarnings(*bp)) {
      std::fprintf(stderr, "%s: %s\n", file.c_str(), w.c_str());
    }
  }
  return errors.ToStatus();
}

int RunUpCommand(const std::vector<std::string>& args) {
  CommandLine line(
      "up",
      "nines up: the whole blueprint on this machine (DNS, load balancers, app servers, the\n"
      "replicated store) with a live dashboard. Without a file it runs the built-in\n"
      "three-region blueprint (docs/up.md, examples/blueprint.toml).");
  CLI::App& app = line.cli();
  std::string file;
  std::string run_dir = "run";
  bool fresh = false;
  bool gray_faults = false;
  bool exit_with_parent = false;
  app.add_option("blueprint", file, "blueprint.toml (default: the built-in blueprint)");
  app.add_flag("--fresh", fresh, "wipe the run directory first (configs, logs, store data)");
  app.add_flag("--gray-faults", gray_faults,
               "store members under libfaketime and (as root) each on a tmpfs of its own, for "
               "the clock and fill-disk actions (nines drill's clock and disk-full faults)");
  app.add_flag("--exit-with-parent", exit_with_parent,
               "stop (as on SIGTERM) when the parent process dies (nines drill's own child)");
  app.add_option("--dir", run_dir, "run directory for configs, logs and data (default ./run)");
  if (std::optional<int> exit = line.Parse(args)) return *exit;
  Blueprint bp = BuiltInBlueprint();
  if (!file.empty()) {
    std::optional<Blueprint> read = CommandLine::ReadConfig(file, ReadBlueprint);
    if (!read) return kExitUsage;
    bp = std::move(*read);
  }
  for (const std::string& w : BlueprintWarnings(bp))
    std::fprintf(stderr, "nines up: %s\n", w.c_str());
  return RunBlueprint(bp, run_dir, fresh, gray_faults, exit_with_parent);
}

}  // namespace nines
