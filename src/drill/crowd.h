// The crowd fault: a surge of distinct users, each with its own
// source address from 127.0.0.0/8 and its region's Client Subnet, arriving
// at a multiple of the measured capacity and held for the fault's window.
// The crowd runs on its own event loop with its own timeline, so the regular
// users are measured apart; it undoes itself (stops sending) when stopped or
// destroyed, so an interrupted drill leaves nothing behind.
#pragma once

#include <asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "drill/capacity_probe.h"  // ProbeCapacity, shared with --capacity
#include "drill/cluster_state.h"
#include "drill/dns_lookup.h"
#include "drill/fault_figures.h"
#include "drill/load_engine.h"
#include "drill/timeline.h"

namespace nines::drill {

struct CrowdPlan {
  std::vector<std::string> dns_servers;  // "A.B.C.D:PORT"
  std::string zone;
  std::string subnet;        // the region's client network (ECS)
  std::vector<int> lb_pids;  // the region's lbs, for their memory
  uint16_t lb_port = 8080;
  double multiple = 20;  // of the probed capacity
  double rate = 0;       // requests/s; > 0 overrides multiple x capacity
  int64_t held_ms = 0;
  int64_t run_start_nanos = 0;  // the drill's, so seconds line up
  int timeline_seconds = 1;
};

// The plan for a crowd at the first region: its client network, its lbs.
CrowdPlan PlanCrowd(const ClusterState& state, const std::vector<std::string>& dns_servers,
                    const std::string& zone, const std::string& subnet);

// Resident and peak memory of a process in kB (/proc/PID/status), 0 if gone.
int64_t ResidentKb(int pid);

class CrowdSurge {
 public:
  CrowdSurge() = default;
  ~CrowdSurge();  // Stop()
  CrowdSurge(const CrowdSurge&) = delete;
  CrowdSurge& operator=(const CrowdSurge&) = delete;

  // Resolves, probes capacity and starts the surge. Ok, or why not: the
  // names did not resolve (IoError) or the lb served no probe
  // (FailedPrecondition).
  Status Start(const CrowdPlan& plan);
  // Stops sending, waits (bounded) for answers in flight, samples memory 1 s
  // later. Idempotent.
  void Stop();
  bool running() const { return engine_ != nullptr && !stopped_; }
  // The crowd got a 503 or 429 (detection).
  bool TurnedAway() const;
  // Processes of the blueprint restarted while it lasted (from /api/state).
  void SetRestarts(int restarts) { figures_.restarts = restarts; }
  // Figures; `regular` (no longer written to) gives the regular users' p99
  // during the surge.
  CrowdFigures Figures(const Timeline& regular) const;

 private:
  CrowdPlan plan_;
  CrowdFigures figures_;
  int64_t surge_start_ms_ = 0;  // since the run started
  int64_t surge_end_ms_ = 0;
  std::unique_ptr<RegionResolver> resolver_;
  std::unique_ptr<Timeline> timeline_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<LoadEngine> engine_;
  std::thread io_thread_;
  std::thread sampler_;
  std::atomic<bool> stop_sampling_{false};
  std::atomic<int64_t> rss_peak_kb_{0};
  bool stopped_ = false;
};

}  // namespace nines::drill
