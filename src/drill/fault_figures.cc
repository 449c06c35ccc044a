// ComputeFaultFigures: read the fault's window off the timeline.
#include "drill/fault_figures.h"

#include <algorithm>

namespace nines::drill {

namespace {

// p99 (ms) of the regular requests intended in the seconds [from_ms, to_ms)
// touches; -1 when there were none.
int64_t P99Between(const Timeline& t, int64_t from_ms, int64_t to_ms) {
  LatencyHistogram h;
  int64_t last = std::min<int64_t>((to_ms + 999) / 1000, t.seconds());
  for (int64_t s = std::max<int64_t>(from_ms / 1000, 0); s < last; ++s) {
    h.Merge(t.second(static_cast<int>(s)).latency);
  }
  return h.count() == 0 ? -1 : h.Percentile(99) / 1000;
}

}  // namespace

void ComputeFaultFigures(const Timeline& timeline, FaultResult* f) {
  f->requests = timeline.RequestsBetween(f->start_ms, f->window_end_ms);
  f->failures = timeline.FailuresBetween(f->start_ms, f->window_end_ms);
  f->failures_held =
      timeline.FailuresBetween(f->start_ms, std::clamp(f->end_ms, f->start_ms, f->window_end_ms));
  int64_t last = timeline.LastFailureEndBetween(f->start_ms, f->window_end_ms);
  f->full_service_after_ms = last < 0 ? 0 : std::max<int64_t>(0, last - f->start_ms);
  f->held_p99_ms = f->skipped ? -1 : P99Between(timeline, f->start_ms, f->end_ms);
  if (f->kind == FaultKind::kSpike) {
    f->spike_sent = 0;
    f->spike_rate_limited = 0;
    int first = static_cast<int>(f->start_ms / 1000);
    int last_second = static_cast<int>((f->window_end_ms + 999) / 1000);
    for (int s = first; s < last_second && s < timeline.seconds(); ++s) {
      const SecondStats& st = timeline.second(s);
      f->spike_sent += st.spike_ok + st.spike_rate_limited + st.spike_failed;
      f->spike_rate_limited += st.spike_rate_limited;
    }
  }
}

namespace {

constexpr int64_t kSlotMs = 1000 / Timeline::kSlotsPerSecond;

// From `from_ms`, the end of a run of failures that goes on with gaps
// shorter than kQuietMs since `last_failure_end_ms`; stops at `limit_ms`.
int64_t FailureRunEnd(const Timeline& t, int64_t from_ms, int64_t last_failure_end_ms,
                      int64_t limit_ms) {
  for (int64_t at = from_ms; at < limit_ms; at += kSlotMs) {
    if (at - last_failure_end_ms >= kQuietMs) break;
    if (t.FailuresBetween(at, at + kSlotMs) > 0) last_failure_end_ms = at + kSlotMs;
  }
  return last_failure_end_ms;
}

// The start of the run of failures (gaps shorter than kQuietMs) that ends at
// `last_failure_end_ms`, looking back no further than `from_ms`.
int64_t FailureRunStart(const Timeline& t, int64_t from_ms, int64_t last_failure_end_ms) {
  int64_t start = last_failure_end_ms - kSlotMs;
  for (int64_t at = start - kSlotMs; at >= from_ms; at -= kSlotMs) {
    if (start - at > kQuietMs) break;
    if (t.FailuresBetween(at, at + kSlotMs) > 0) start = at;
  }
  return start;
}

}  // namespace

void ComputeFaultFigures(const Timeline& timeline, std::vector<FaultResult>* faults,
                         int64_t load_end_ms) {
  std::vector<FaultResult>& fs = *faults;
  // Windows: a fault really injected holds until the next one really
  // injected; a skipped fault has none.
  for (size_t i = 0; i < fs.size(); ++i) {
    if (fs[i].skipped) {
      fs[i].window_end_ms = fs[i].start_ms;
      continue;
    }
    fs[i].window_end_ms = load_end_ms;
    for (size_t j = i + 1; j < fs.size(); ++j) {
      if (!fs[j].skipped) {
        fs[i].window_end_ms = fs[j].start_ms;
        break;
      }
    }
  }
  int64_t charged_until = 0;  // failures before this are the previous fault's
  for (FaultResult& f : fs) {
    f.requests = f.failures = f.failures_held = 0;
    f.full_service_after_ms = 0;
    f.full_service_beyond_window = false;
    f.held_p99_ms = -1;
    f.charged_until_ms = f.start_ms;
    f.counted_from_ms = f.start_ms;
    if (f.skipped) continue;
    int64_t from = std::max(f.start_ms, charged_until);
    f.counted_from_ms = from;
    int64_t to = std::max(from, f.window_end_ms);
    int64_t last = timeline.LastFailureEndBetween(from, to);
    // Still failing when the window ends, in a run of failures that began
    // while the fault was held (not after a recovery, e.g. requests in
    // flight when the next fault struck): the outage is this fault's.
    if (last >= 0 && last >= to - kQuietMs && to < load_end_ms &&
        FailureRunStart(timeline, from, last) <= std::max(f.end_ms, from)) {
      int64_t end = FailureRunEnd(timeline, to, last, load_end_ms);
      if (end > to) {
        f.full_service_beyond_window = true;
        to = end;
        last = end;
      }
    }
    f.charged_until_ms = to;
    charged_until = to;
    f.requests = timeline.RequestsBetween(from, to);
    f.failures = timeline.FailuresBetween(from, to);
    f.failures_held = timeline.FailuresBetween(from, std::clamp(f.end_ms, from, to));
    f.full_service_after_ms = last < 0 ? 0 : std::max<int64_t>(0, last - f.start_ms);
    f.held_p99_ms = P99Between(timeline, f.start_ms, f.end_ms);
    if (f.kind == FaultKind::kSpike) {
      FaultResult window = f;
      ComputeFaultFigures(timeline, &window);
      f.spike_sent = window.spike_sent;
      f.spike_rate_limited = window.spike_rate_limited;
    }
  }
}

}  // namespace nines::drill
