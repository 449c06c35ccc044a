// LoadPhase: the drill's load while the faults run (step 4 of RunDrill). The
// open-loop engine sends on an event loop of its own, a thread refreshes the
// DNS answers per TTL, and a progress line is printed every second naming the
// fault being held. The fault steps read its engine, timeline and start time;
// Finish lets the load end (or cuts it short) and stops every thread.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "drill/dns_lookup.h"
#include "drill/driver.h"
#include "drill/load_engine.h"
#include "drill/timeline.h"

namespace nines::drill {

class LoadPhase {
 public:
  // Starts the load at once: `options.rate` requests per second from `users`
  // for `duration_ms`, resolved through `resolver`. `interrupted` is polled;
  // once it is set the load stops early. Every argument must outlive this.
  LoadPhase(const DrillOptions& options, RegionResolver& resolver,
            const std::vector<SimUser>& users, int64_t duration_ms,
            const std::atomic<bool>& interrupted);
  LoadPhase(const LoadPhase&) = delete;
  LoadPhase& operator=(const LoadPhase&) = delete;

  // Lets the load run to its end (or cuts it short when interrupted), waits
  // for the requests in flight, then stops every thread. True if the run was
  // cut short.
  bool Finish();

  // What the progress line shows after its figures; "" for none.
  void SetFault(const std::string& text);

  LoadEngine& engine() { return engine_; }
  Timeline& timeline() { return timeline_; }
  int64_t start_nanos() const { return start_nanos_; }
  int64_t start_ms() const { return start_ms_; }

 private:
  static LoadOptions MakeOptions(const DrillOptions& options);
  // Sleeps until `until_ms` (steady), waking early when interrupted.
  void SleepUntil(int64_t until_ms) const;
  void PrintProgress();

  RegionResolver& resolver_;
  const std::atomic<bool>& interrupted_;
  int64_t duration_ms_;
  Timeline timeline_;
  asio::io_context io_;
  int64_t start_nanos_;
  int64_t start_ms_;
  LoadOptions options_;
  LoadEngine engine_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::atomic<bool> helpers_stop_{false};
  std::thread io_thread_;
  std::thread resolver_thread_;
  std::thread progress_thread_;
  std::mutex fault_mu_;
  std::string fault_;  // what is broken right now
};

}  // namespace nines::drill
