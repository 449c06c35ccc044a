// Watches the running blueprint at least once a second: readiness of every
// new process, each load balancer's /status and /metrics (requests, rps,
// errors, 429s, availability, carried across lb restarts), and each store
// member's /status (role, term, commit, applied; lag behind the leader).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "up/supervisor.h"

namespace nines::up {

struct StoreMemberState {
  std::string node;
  std::string role = "unknown";  // leader, follower, candidate, learner, or unknown (no answer)
  int64_t term = 0;
  int64_t commit = 0;
  int64_t applied = 0;
  int64_t lag = -1;  // leader's commit - applied; -1 when unknown
};

struct StoreState {
  std::string leader_node;  // "" when none is known
  int64_t term = 0;
  std::vector<StoreMemberState> members;
};

struct LbStats {
  std::string node;
  bool reachable = false;
  double requests = 0;      // totals since `nines up` started
  double errors = 0;        // 5xx answered by the lb or passed on from servers
  double rate_limited = 0;  // 429
  double rps = 0;
  double availability = 1;  // 1 - errors / (requests - rate_limited)
};

struct ObservedState {
  StoreState store;
  std::vector<LbStats> lbs;
};

// Sums of the lb metrics `nines up` shows, from Prometheus text.
struct LbCounters {
  double requests = 0;
  double errors = 0;
  double rate_limited = 0;
};
LbCounters ParseLbMetrics(const std::string& prometheus_text);

class StatePoller {
 public:
  static constexpr int kIntervalMs = 500;
  static constexpr int kProbeTimeoutMs = 300;

  // `clock` (monotonic) paces the polls and measures the lbs' rates.
  explicit StatePoller(Supervisor* supervisor, const Clock& clock = SteadyClock::Instance());
  ~StatePoller();
  void Start();
  void Stop();
  ObservedState Snapshot() const;
  // Counts lb traffic from now on: called once everything is first up, so the
  // health checks that failed while the app servers started do not count
  // against availability.
  void ResetCounters() { reset_requested_ = true; }

 private:
  struct LbTrack {
    LbCounters base;    // counts of earlier lb processes
    LbCounters last;    // last reading of the current one
    LbCounters offset;  // totals before ResetCounters
    double last_requests_total = 0;
    int64_t last_ms = 0;
    double rps = 0;
  };
  void Loop();
  void PollOnce();

  Supervisor* supervisor_;
  const Clock& clock_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reset_requested_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  ObservedState state_;
  std::map<std::string, LbTrack> lb_tracks_;  // poller thread only
};

}  // namespace nines::up
