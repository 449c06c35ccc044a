// The dashboard's HTTP surface: the page at /, the JSON API of
// docs/up.md (GET /api/state; POST node, region and spike actions), /status
// and /metrics.
#pragma once

#include <cstdint>
#include <string>

#include "base/metrics.h"
#include "http/simple_server.h"
#include "up/blueprint.h"
#include "up/gray_faults.h"
#include "up/headroom.h"
#include "up/isolation.h"
#include "up/spike.h"
#include "up/state_poller.h"
#include "up/supervisor.h"

namespace nines::up {

struct UpContext {
  const Blueprint* blueprint = nullptr;
  Supervisor* supervisor = nullptr;
  StatePoller* poller = nullptr;
  Isolation* isolation = nullptr;
  Spike* spike = nullptr;
  MetricsRegistry* metrics = nullptr;
  int64_t started_ms = 0;        // wall clock, ms since the epoch
  std::string admin_token;       // POSTs need `Authorization: Bearer` it ("": no token, tests only)
  GrayFaults* gray = nullptr;    // clock and disk faults (`nines up --gray-faults`); null: none
  Headroom* headroom = nullptr;  // POST /api/capacity; null: not offered
};

// The body of GET /api/state.
std::string StateJson(const UpContext& ctx);

// Answers one request; never blocks for long (iptables at most).
http::Response HandleUpRequest(const UpContext& ctx, const http::Request& request);

// Registers the supervisor's gauges (nodes by state, restarts) in ctx.metrics.
void RegisterUpMetrics(const UpContext& ctx);

}  // namespace nines::up
