// What one injected fault cost: requests made while it lasted (its window
// runs from injection to the next fault really injected, or the end of the
// load, and on while the failures it started go on), how many
// failed, how long until the system noticed, how long until clients saw
// full service again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "drill/fault_schedule.h"
#include "drill/timeline.h"

namespace nines::drill {

// The crowd fault's own figures. The regular users are measured apart, in
// the fault's requests and failures.
struct CrowdFigures {
  double capacity_per_s = 0;  // the probe: 2xx per second (8 clients, a connection per request)
  double offered_per_s = 0;   // the crowd's intended rate: a multiple of that, or --crowd-rate
  uint64_t users = 0;         // distinct source addresses
  uint64_t intended = 0, ok = 0, rate_limited = 0, shed = 0;  // 2xx, 429, 503
  uint64_t timeouts = 0, no_response = 0, other_failed = 0;
  uint64_t not_sent = 0;           // the generator's own in-flight cap
  int64_t p50_ms = 0, p99_ms = 0;  // every answer the crowd got
  int64_t regular_p99_ms = 0;      // regular users' requests intended during the surge
  int64_t lb_rss_before_kb = 0;    // the crowd's lbs (the largest), before the surge
  int64_t lb_rss_peak_kb = 0;      // sampled every 100 ms while it lasted
  int64_t lb_rss_after_kb = 0;     // 1 s after it ended
  int restarts = 0;                // processes of the blueprint restarted meanwhile
};

struct FaultResult {
  FaultKind kind = FaultKind::kApp;
  std::string target;               // node or region name ("" for spike)
  bool skipped = false;             // not injected (e.g. partition without root)
  std::string notice;               // why skipped, or what went wrong
  bool detection_measured = false;  // the drill watched for a detection signal
  bool undone = false;              // the undo succeeded (or there was nothing to undo)
  int64_t start_ms = 0;             // injected (since the load started)
  int64_t end_ms = 0;               // undone
  int64_t window_end_ms = 0;        // figures count requests intended in [start_ms, window_end_ms)
  int64_t detected_after_ms = -1;   // -1: not detected while polling
  std::string detected_by;          // what changed in /api/state
  // Computed from the timeline:
  uint64_t requests = 0;
  uint64_t failures = 0;
  // Of those, the ones intended while the fault was held (before its undo);
  // the rest are what undoing it cost (e.g. a region rejoining).
  uint64_t failures_held = 0;
  // From injection to the end of the last 100 ms with a failed request in the
  // window; 0 when clients saw no failure at all.
  int64_t full_service_after_ms = 0;
  // Failures ran on past the window (into the next fault's time): they are
  // charged to this fault up to charged_until_ms, not to the next one.
  bool full_service_beyond_window = false;
  int64_t charged_until_ms = 0;
  // Requests before this were charged to the previous fault (its failures
  // were still going on): what this one cost before it is not separable.
  int64_t counted_from_ms = 0;
  // The regular users' p99 latency (ms) over the seconds the fault was held
  // (a gray fault's effect shows here more than in failures); -1: no request.
  int64_t held_p99_ms = -1;
  // Spike only: what the spiking client got.
  uint64_t spike_sent = 0, spike_rate_limited = 0;
  // Crowd only: the surge and what it got (drill/crowd.h).
  CrowdFigures crowd;
};

void ComputeFaultFigures(const Timeline& timeline, FaultResult* fault);

// A run of failures that goes on with gaps shorter than this belongs to the
// fault that started it, even past that fault's window.
constexpr int64_t kQuietMs = 1000;

// Every fault of a run, in order, the load ending at load_end_ms. Sets each
// window: to the next fault really injected (a skipped fault gets none, so
// it can cost nothing). Failures that go on past a window (gaps < kQuietMs)
// are charged to the fault whose window they began in, never to the next.
void ComputeFaultFigures(const Timeline& timeline, std::vector<FaultResult>* faults,
                         int64_t load_end_ms);

}  // namespace nines::drill
