// ComputeFaultFigures: read the fault's window off the timeline.
#include "drill/fault_figures.h"

#include <algorithm>

namespace nines::drill {

void ComputeFaultFigures(const Timeline& timeline, FaultResult* f) {
  f->requests = timeline.RequestsBetween(f->start_ms, f->window_end_ms);
  f->failures = timeline.FailuresBetween(f->start_ms, f->window_end_ms);
  int64_t last = timeline.LastFailureEndBetween(f->start_ms, f->window_end_ms);
  f->full_service_after_ms = last < 0 ? 0 : std::max<int64_t>(0, last - f->start_ms);
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

void ComputeFaultFigures(const Timeline& timeline, std::vector<FaultResult>* faults,
                         int64_t load_end_ms) {
  for (FaultResult& f : *faults) ComputeFaultFigures(timeline, &f);
}

}  // namespace nines::drill
