// LoadPhase: the drill's load with its event loop, resolver and progress
// threads (see load_phase.h).
#include "drill/load_phase.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "base/clock.h"
#include "drill/load_schedule.h"

namespace nines::drill {

namespace {

void SleepMs(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

LoadPhase::LoadPhase(const DrillOptions& options, RegionResolver& resolver,
                     const std::vector<SimUser>& users, int64_t duration_ms,
                     const std::atomic<bool>& interrupted)
    : resolver_(resolver),
      interrupted_(interrupted),
      duration_ms_(duration_ms),
      timeline_(static_cast<int>((duration_ms + 999) / 1000)),
      start_nanos_(LoadEngine::NowNanos() + 200'000'000),
      start_ms_(start_nanos_ / 1'000'000),
      options_(MakeOptions(options)),
      engine_(io_, resolver, timeline_, start_nanos_, options_),
      work_(asio::make_work_guard(io_)) {
  engine_.Start(LoadSchedule(options.rate, start_nanos_, duration_ms * 1'000'000), users);
  io_thread_ = std::thread([this] { io_.run(); });
  resolver_thread_ = std::thread([this] {
    while (!helpers_stop_) {
      resolver_.RefreshDue(SteadyClock::Instance().NowMillis());
      SleepMs(50);
    }
  });
  progress_thread_ = std::thread([this] { PrintProgress(); });
}

bool LoadPhase::Finish() {
  SleepUntil(start_ms_ + duration_ms_);
  bool cut_short = interrupted_;
  if (cut_short) engine_.StopSending();
  int64_t drain_deadline = SteadyClock::Instance().NowMillis() + options_.request_timeout_ms + 2000;
  while (!engine_.Idle() && SteadyClock::Instance().NowMillis() < drain_deadline) SleepMs(50);
  helpers_stop_ = true;
  progress_thread_.join();
  engine_.StopSending();
  work_.reset();
  io_.stop();
  io_thread_.join();
  resolver_thread_.join();
  return cut_short;
}

void LoadPhase::SetFault(const std::string& text) {
  std::lock_guard lock(fault_mu_);
  fault_ = text;
}

LoadOptions LoadPhase::MakeOptions(const DrillOptions& options) {
  LoadOptions load;
  load.run_id = "drill-" + std::to_string(WallMillis());
  load.reresolve_on_failure = options.reresolve_on_failure;
  return load;
}

void LoadPhase::SleepUntil(int64_t until_ms) const {
  while (!interrupted_ && SteadyClock::Instance().NowMillis() < until_ms)
    SleepMs(std::min<int64_t>(50, until_ms - SteadyClock::Instance().NowMillis()));
}

void LoadPhase::PrintProgress() {
  int64_t next = start_ms_ + 1000;
  uint64_t last_total = 0;
  while (!helpers_stop_) {
    SleepUntil(next);
    if (helpers_stop_ || interrupted_) break;
    const LoadCounters& c = engine_.counters();
    uint64_t total = c.ok + c.failed + c.rate_limited + c.refused_by_client;
    std::string fault;
    {
      std::lock_guard lock(fault_mu_);
      fault = fault_;
    }
    std::printf(
        "t=%3llds  %4llu req/s  ok %llu  failed %llu  429 %llu  spike-429 %llu  "
        "in-flight %llu  writes %llu%s%s\n",
        static_cast<long long>((next - start_ms_) / 1000),
        static_cast<unsigned long long>(total - last_total),
        static_cast<unsigned long long>(c.ok.load()),
        static_cast<unsigned long long>(c.failed.load()),
        static_cast<unsigned long long>(c.rate_limited.load()),
        static_cast<unsigned long long>(c.spike_rate_limited.load()),
        static_cast<unsigned long long>(c.in_flight.load()),
        static_cast<unsigned long long>(c.acknowledged.load()), fault.empty() ? "" : "  | ",
        fault.c_str());
    std::fflush(stdout);
    last_total = total;
    next += 1000;
  }
}

}  // namespace nines::drill
