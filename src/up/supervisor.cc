// Child processes of `nines up`: fork/exec of /proc/self/exe, reaping by PID,
// restart with backoff, and the API's process controls.
#include "up/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "base/log.h"

namespace nines::up {
namespace {

std::string ExitText(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
  return "gone";
}

// "HH:MM:SS" local time of a wall clock reading.
std::string TimeOfDay(int64_t wall_ms) {
  std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

const char* NodeStateName(NodeState state) {
  switch (state) {
    case NodeState::kStarting:
      return "starting";
    case NodeState::kRunning:
      return "running";
    case NodeState::kStopped:
      return "stopped";
    case NodeState::kCrashed:
      return "crashed";
    case NodeState::kFrozen:
      return "frozen";
    case NodeState::kIsolated:
      return "isolated";
    case NodeState::kSlow:
      return "slow";
  }
  return "?";
}

int64_t RestartBackoffMs(int failures) {
  if (failures <= 1) return 250;
  int64_t ms = 250;
  for (int i = 1; i < failures && ms < 8000; ++i) ms *= 2;
  return ms < 8000 ? ms : 8000;
}

Supervisor::Supervisor(std::vector<NodeSpec> nodes, std::string run_dir, std::string binary,
                       const Clock& clock, const Clock& wall)
    : specs_(std::move(nodes)),
      run_dir_(std::move(run_dir)),
      binary_(std::move(binary)),
      clock_(clock),
      wall_(wall),
      rt_(specs_.size()) {}

int Supervisor::IndexOf(const std::string& name) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

const NodeSpec* Supervisor::Find(const std::string& name) const {
  int i = IndexOf(name);
  return i < 0 ? nullptr : &specs_[i];
}

void Supervisor::AddEvent(std::string text, bool log) {
  if (log) LogInfo("up", "{}", text);
  events_.push_back(TimeOfDay(wall_.NowMillis()) + " " + std::move(text));
  while (events_.size() > kMaxEvents) events_.pop_front();
}

void Supervisor::Spawn(size_t i, int64_t now_ms) {
  const NodeSpec& spec = specs_[i];
  Runtime& rt = rt_[i];
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::string kind = NodeKindName(spec.kind);
  std::string log_path = fmt::format("{}/logs/{}.log", run_dir_, spec.name);
  std::vector<std::string> args = {"nines", kind, "--config", spec.config_path};
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment: ours, with the node's own variables over it.
  std::vector<std::string> env_vars = spec.env;
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    std::string_view var(*e);
    bool replaced = false;
    for (const std::string& own : env_vars) {
      size_t eq = own.find('=');
      replaced = replaced || (var.size() > eq && var.substr(0, eq + 1) == own.substr(0, eq + 1));
    }
    if (!replaced) envp.push_back(*e);
  }
  for (std::string& own : env_vars) envp.push_back(own.data());
  envp.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd >= 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
    }
    if (null_fd >= 0) dup2(null_fd, 0);
    // No inherited descriptors beyond 0-2: the dashboard's listening socket
    // and other children's pipes must not live on in this child.
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
      for (int fd = 3; fd < 4096; ++fd) close(fd);
    }
    if (chdir(run_dir_.c_str()) != 0) _exit(127);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(binary_.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  if (pid < 0) {
    rt.failures++;
    rt.next_start_ms = now_ms + RestartBackoffMs(rt.failures);
    AddEvent(fmt::format("{}: fork failed", spec.name));
    return;
  }
  bool first = !rt.started_once;
  if (!first) rt.restarts++;
  rt.started_once = true;
  rt.pid = pid;
  rt.ready = false;
  rt.frozen = false;
  rt.slow = false;
  rt.slow_stopped = false;
  rt.want_start = false;
  rt.started_ms = now_ms;
  // The first start shows as a progress line instead of a log line.
  AddEvent(fmt::format("{}: started, pid {}", spec.name, pid), !first);
}

void Supervisor::StartAll(int64_t now_ms) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (rt_[i].pid < 0) Spawn(i, now_ms);
  }
}

void Supervisor::Reap(size_t i, int status, int64_t now_ms) {
  Runtime& rt = rt_[i];
  const NodeSpec& spec = specs_[i];
  rt.pid = -1;
  rt.ready = false;
  rt.frozen = false;
  rt.slow = false;
  rt.slow_stopped = false;
  rt.last_exit = ExitText(status);
  if (rt.held) {
    AddEvent(fmt::format("{}: stopped ({})", spec.name, rt.last_exit));
    return;
  }
  if (rt.want_start) return;  // a requested restart: Tick starts it at once
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    rt.held = true;  // Restart=on-failure: a clean exit stays down
    AddEvent(fmt::format("{}: exited cleanly, not restarted", spec.name));
    return;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    // Every nines command exits 2 for bad usage or config: starting it again
    // cannot help, so it stays down until a restart through the API.
    rt.held = true;
    AddEvent(
        fmt::format("{}: exited with status 2 (bad config or usage), not restarted; see "
                    "{}/logs/{}.log",
                    spec.name, run_dir_, spec.name));
    LogWarn("up", "{} will not be restarted: fix its config ({}) and restart it", spec.name,
            spec.config_path);
    return;
  }
  if (now_ms - rt.started_ms >= kHealthyRunMs) rt.failures = 0;
  rt.failures++;
  int64_t backoff = RestartBackoffMs(rt.failures);
  rt.next_start_ms = now_ms + backoff;
  AddEvent(fmt::format("{}: died ({}), restarting in {} ms", spec.name, rt.last_exit, backoff));
}

void Supervisor::Tick(int64_t now_ms) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < specs_.size(); ++i) {
    Runtime& rt = rt_[i];
    if (rt.pid > 0) {
      int status = 0;
      pid_t r = waitpid(rt.pid, &status, WNOHANG);
      if (r == rt.pid) Reap(i, status, now_ms);
    }
    if (rt.pid < 0 && !rt.held && (rt.want_start || now_ms >= rt.next_start_ms)) {
      Spawn(i, now_ms);
    }
    if (rt.slow && rt.pid > 0) SlowTick(i, now_ms);
  }
}

void Supervisor::SlowTick(size_t i, int64_t now_ms) {
  Runtime& rt = rt_[i];
  const SlowSpec& spec = rt.slow_spec;
  if (spec.for_ms > 0 && now_ms - rt.slow_since_ms >= spec.for_ms) {
    EndSlow(i);
    AddEvent(fmt::format("{}: slow ended after {} ms (its window is over)", specs_[i].name,
                         spec.for_ms));
    return;
  }
  bool stop = (now_ms - rt.slow_since_ms) % spec.period_ms < spec.stop_ms;
  if (stop == rt.slow_stopped) return;
  kill(rt.pid, stop ? SIGSTOP : SIGCONT);
  rt.slow_stopped = stop;
}

void Supervisor::EndSlow(size_t i) {
  Runtime& rt = rt_[i];
  if (rt.slow && rt.slow_stopped && rt.pid > 0) kill(rt.pid, SIGCONT);
  rt.slow = false;
  rt.slow_stopped = false;
}

Status Supervisor::Slow(const std::string& name, const SlowSpec& spec) {
  std::lock_guard lock(mu_);
  int i = IndexOf(name);
  if (i < 0) return Status::NotFound(fmt::format("no node named '{}'", name));
  Runtime& rt = rt_[i];
  if (rt.pid <= 0) return Status::FailedPrecondition(fmt::format("'{}' is not running", name));
  if (rt.frozen) return Status::FailedPrecondition(fmt::format("'{}' is frozen", name));
  if (spec.period_ms < SlowSpec::kMinPeriodMs || spec.period_ms > SlowSpec::kMaxPeriodMs ||
      spec.stop_ms <= 0 || spec.stop_ms >= spec.period_ms || spec.for_ms < 0 ||
      spec.for_ms > SlowSpec::kMaxForMs) {
    return Status::InvalidArgument(fmt::format(
        "slow: need 0 < stop_ms < period_ms, period_ms from {} to {}, for_ms from 0 to {}",
        SlowSpec::kMinPeriodMs, SlowSpec::kMaxPeriodMs, SlowSpec::kMaxForMs));
  }
  rt.slow = true;
  rt.slow_stopped = false;
  rt.slow_spec = spec;
  rt.slow_since_ms = clock_.NowMillis();
  SlowTick(static_cast<size_t>(i), rt.slow_since_ms);  // stopped from now
  AddEvent(fmt::format("{}: slow (SIGSTOP {} ms of every {} ms{})", name, spec.stop_ms,
                       spec.period_ms,
                       spec.for_ms > 0 ? fmt::format(", for {} ms", spec.for_ms) : ""));
  return Status::Ok();
}

Status Supervisor::Fast(const std::string& name) {
  std::lock_guard lock(mu_);
  int i = IndexOf(name);
  if (i < 0) return Status::NotFound(fmt::format("no node named '{}'", name));
  if (!rt_[i].slow) return Status::Ok();
  EndSlow(static_cast<size_t>(i));
  AddEvent(fmt::format("{}: fast again (SIGCONT)", name));
  return Status::Ok();
}

void Supervisor::StopAll(int term_timeout_ms) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < specs_.size(); ++i) {
    rt_[i].held = true;
    if (rt_[i].pid > 0) {
      kill(rt_[i].pid, SIGTERM);
      kill(rt_[i].pid, SIGCONT);
    }
  }
  int64_t deadline = clock_.NowMillis() + term_timeout_ms;
  bool killed = false;
  while (true) {
    bool alive = false;
    for (size_t i = 0; i < specs_.size(); ++i) {
      Runtime& rt = rt_[i];
      if (rt.pid <= 0) continue;
      int status = 0;
      pid_t r = waitpid(rt.pid, &status, WNOHANG);
      if (r == rt.pid || (r < 0 && errno == ECHILD)) {
        rt.pid = -1;
        rt.last_exit = ExitText(status);
      } else {
        alive = true;
      }
    }
    if (!alive) break;
    if (!killed && clock_.NowMillis() >= deadline) {
      for (Runtime& rt : rt_) {
        if (rt.pid > 0) kill(rt.pid, SIGKILL);
      }
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status Supervisor::KillLocked(size_t i) {
  Runtime& rt = rt_[i];
  rt.held = true;
  rt.want_start = false;
  if (rt.pid > 0) {
    kill(rt.pid, SIGKILL);
    AddEvent(fmt::format("{}: killed (SIGKILL) through the API", specs_[i].name));
  }
  return Status::Ok();
}

Status Supervisor::Kill(const std::string& name) {
  std::lock_guard lock(mu_);
  int i = IndexOf(name);
  if (i < 0) return Status::NotFound(fmt::format("no node named '{}'", name));
  // A kill with nothing to kill is refused, so a drill never counts a fault
  // that had no effect as injected. (StopRegion holds down stopped ones too.)
  if (rt_[i].pid <= 0) return Status::FailedPrecondition(fmt::format("'{}' is not running", name));
  return KillLocked(i);
}

Status Supervisor::Restart(const std::string& name) {
  std::lock_guard lock(mu_);
  int i = IndexOf(name);
  if (i < 0) return Status::NotFound(fmt::format("no node named '{}'", name));
  Runtime& rt = rt_[i];
  rt.held = false;
  rt.want_start = true;
  rt.failures = 0;
  if (rt.pid > 0) {
    kill(rt.pid, SIGKILL);
    kill(rt.pid, SIGCONT);
  }
  AddEvent(fmt::format("{}: restart requested", name));
  return Status::Ok();
}

Status Supervisor::Freeze(const std::string& name) {
  std::lock_guard lock(mu_);
  int i = IndexOf(name);
  if (i < 0) return Status::NotFound(fmt::format("no node named '{}'", name));
  if (rt_[i].pid <= 0) return Status::FailedPrecondition(fmt::format("'{}' is not running", name));
  kill(rt_[i].pid, SIGSTOP);
  rt_[i].slow = false;  // frozen outright: the duty cycle must not wake it
  rt_[i].slow_stopped = false;
  rt_[i].frozen = true;
  AddEvent(fmt::format("{}: frozen (SIGSTOP)", name));
  return Status::Ok();
}

Status Supervisor::Thaw(const std::string& name) {
  std::lock_guard lock(mu_);
  int i = IndexOf(name);
  if (i < 0) return Status::NotFound(fmt::format("no node named '{}'", name));
  if (rt_[i].pid <= 0) return Status::FailedPrecondition(fmt::format("'{}' is not running", name));
  kill(rt_[i].pid, SIGCONT);
  rt_[i].frozen = false;
  rt_[i].slow = false;
  rt_[i].slow_stopped = false;
  AddEvent(fmt::format("{}: thawed (SIGCONT)", name));
  return Status::Ok();
}

Status Supervisor::StopRegion(const std::string& region) {
  std::lock_guard lock(mu_);
  bool found = false;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].region != region) continue;
    found = true;
    (void)KillLocked(i);  // cannot fail
  }
  if (!found) return Status::NotFound(fmt::format("no region named '{}'", region));
  AddEvent(fmt::format("region {} stopped", region));
  return Status::Ok();
}

Status Supervisor::StartRegion(const std::string& region) {
  std::lock_guard lock(mu_);
  bool found = false;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].region != region) continue;
    found = true;
    Runtime& rt = rt_[i];
    rt.held = false;
    rt.failures = 0;
    if (rt.pid < 0) rt.want_start = true;
  }
  if (!found) return Status::NotFound(fmt::format("no region named '{}'", region));
  AddEvent(fmt::format("region {} started", region));
  return Status::Ok();
}

void Supervisor::SetReady(const std::string& name, pid_t pid, bool ready) {
  std::lock_guard lock(mu_);
  int i = IndexOf(name);
  if (i < 0 || rt_[i].pid != pid) return;  // a probe of a process since replaced
  rt_[i].ready = ready;
}

void Supervisor::Note(std::string text) {
  std::lock_guard lock(mu_);
  AddEvent(std::move(text));
}

void Supervisor::SetIsolated(const std::string& name, bool isolated) {
  std::lock_guard lock(mu_);
  int i = IndexOf(name);
  if (i >= 0) rt_[i].isolated = isolated;
}

std::vector<NodeStatus> Supervisor::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<NodeStatus> out;
  for (size_t i = 0; i < specs_.size(); ++i) {
    const Runtime& rt = rt_[i];
    NodeStatus s;
    s.name = specs_[i].name;
    s.pid = rt.pid;
    s.restarts = rt.restarts;
    s.last_exit = rt.last_exit;
    if (rt.pid <= 0) {
      s.state = rt.held ? NodeState::kStopped : NodeState::kCrashed;
    } else if (rt.frozen) {
      s.state = NodeState::kFrozen;
    } else if (rt.slow) {
      s.state = NodeState::kSlow;
    } else if (rt.isolated) {
      s.state = NodeState::kIsolated;
    } else {
      s.state = rt.ready ? NodeState::kRunning : NodeState::kStarting;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> Supervisor::Events() const {
  std::lock_guard lock(mu_);
  return {events_.begin(), events_.end()};
}

bool Supervisor::AllReady() const {
  std::lock_guard lock(mu_);
  for (const Runtime& rt : rt_) {
    if (rt.pid <= 0 || !rt.ready) return false;
  }
  return true;
}

bool Supervisor::AnyAlive() const {
  std::lock_guard lock(mu_);
  for (const Runtime& rt : rt_) {
    if (rt.pid > 0) return true;
  }
  return false;
}

bool Supervisor::RegionUp(const std::string& region) const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].region == region && !rt_[i].held) return true;
  }
  return false;
}

}  // namespace nines::up
