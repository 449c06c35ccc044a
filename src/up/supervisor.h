// Runs every process of the blueprint as a child of `nines up` (the same
// binary, /proc/self/exe), restarts one that dies on its own with exponential
// backoff (systemd's Restart=on-failure), and carries out the dashboard's
// kill/restart/freeze/thaw/stop/start. Children live in their own process
// groups (Ctrl-C reaches only `nines up`) and die with it (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "up/topology.h"

namespace nines::up {

enum class NodeState { kStarting, kRunning, kStopped, kCrashed, kFrozen, kIsolated, kSlow };
const char* NodeStateName(NodeState state);

struct NodeStatus {
  std::string name;
  pid_t pid = -1;
  NodeState state = NodeState::kStarting;
  int restarts = 0;
  std::string last_exit;  // "exit 1", "signal 9", or ""
};

// Backoff before restarting a process that died on its own, after `failures`
// deaths in a row: 250 ms doubling per failure, at most 8 s.
int64_t RestartBackoffMs(int failures);

// The `slow` gray fault: the process is stopped (SIGSTOP) for stop_ms at the
// start of every period_ms and runs (SIGCONT) for the rest, so everything it
// serves waits up to stop_ms longer; it ends by itself after for_ms (0: only
// through Fast), so a drill that dies cannot leave it slowed.
struct SlowSpec {
  static constexpr int kMinPeriodMs = 100;  // Tick runs every 50 ms
  static constexpr int kMaxPeriodMs = 10000;
  static constexpr int64_t kMaxForMs = 3600 * 1000;
  int stop_ms = 500;
  int period_ms = 700;
  int64_t for_ms = 0;
};

class Supervisor {
 public:
  static constexpr int64_t kHealthyRunMs = 10000;  // running this long resets the backoff
  static constexpr size_t kMaxEvents = 100;

  // `binary` is what every child runs (`nines`; tests pass the built binary).
  // `clock` (monotonic) times StopAll's SIGKILL deadline; `wall` stamps the
  // events. Both must outlive the supervisor.
  Supervisor(std::vector<NodeSpec> nodes, std::string run_dir,
             std::string binary = "/proc/self/exe", const Clock& clock = SteadyClock::Instance(),
             const Clock& wall = SystemClock::Instance());

  // Main thread only (fork happens there, so PR_SET_PDEATHSIG stays tied to it).
  void StartAll(int64_t now_ms);
  void Tick(int64_t now_ms);          // reap, restart with backoff, carry out requests
  void StopAll(int term_timeout_ms);  // SIGTERM (and SIGCONT), SIGKILL after the deadline

  // Any thread. Each returns Ok, NotFound (no such node or region) or
  // FailedPrecondition (not running); the message is for the API.
  Status Kill(const std::string& name);     // SIGKILL, held down until Restart
  Status Restart(const std::string& name);  // (re)start now, clears a hold
  Status Freeze(const std::string& name);   // SIGSTOP
  Status Thaw(const std::string& name);     // SIGCONT
  // Duty-cycled SIGSTOP/SIGCONT (SlowSpec), carried out by Tick. Slow is
  // refused (FailedPrecondition) for a node not running or frozen; Fast is Ok
  // for any known node (an undo after the fault ended by itself has nothing
  // to do) and leaves the process running.
  Status Slow(const std::string& name, const SlowSpec& spec);
  Status Fast(const std::string& name);
  Status StopRegion(const std::string& region);
  Status StartRegion(const std::string& region);
  void SetReady(const std::string& name, pid_t pid, bool ready);
  void SetIsolated(const std::string& name, bool isolated);
  void Note(std::string text);  // an event line (and a log line) from elsewhere in nines up

  const std::vector<NodeSpec>& nodes() const { return specs_; }
  const NodeSpec* Find(const std::string& name) const;
  std::vector<NodeStatus> Snapshot() const;
  std::vector<std::string> Events() const;  // newest last
  bool AllReady() const;
  bool AnyAlive() const;
  bool RegionUp(const std::string& region) const;  // some process of it not held down

 private:
  struct Runtime {
    pid_t pid = -1;
    bool held = false;        // killed or stopped through the API: no auto-restart
    bool want_start = false;  // start as soon as the old process is gone
    bool frozen = false;
    bool isolated = false;
    bool slow = false;          // duty-cycled by Tick
    bool slow_stopped = false;  // SIGSTOP sent in the current period
    SlowSpec slow_spec;
    int64_t slow_since_ms = 0;
    bool ready = false;
    bool started_once = false;
    int restarts = 0;
    int failures = 0;  // deaths in a row without a healthy run
    int64_t started_ms = 0;
    int64_t next_start_ms = 0;
    std::string last_exit;
  };

  int IndexOf(const std::string& name) const;
  void Spawn(size_t i, int64_t now_ms);  // mutex held
  void Reap(size_t i, int status, int64_t now_ms);
  void AddEvent(std::string text, bool log = true);  // mutex held
  Status KillLocked(size_t i);
  void SlowTick(size_t i, int64_t now_ms);  // mutex held
  void EndSlow(size_t i);                   // mutex held: SIGCONT if stopped, clear

  std::vector<NodeSpec> specs_;
  std::string run_dir_;
  std::string binary_;
  const Clock& clock_;
  const Clock& wall_;
  mutable std::mutex mu_;
  std::vector<Runtime> rt_;
  std::deque<std::string> events_;
};

}  // namespace nines::up
