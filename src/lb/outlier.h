// Passive health (Envoy's outlier detection): every request's outcome on a
// server is recorded; a run of consecutive failures, or a time to the
// response head far above the pool's, ejects the server for a
// time that grows each time it is ejected again, while a guard keeps at
// least part of each tier (primaries, backups) in rotation. Active checks and ejection are
// independent: a server takes traffic only when both allow it.
#pragma once

#include <memory>
#include <vector>

#include "lb/lb_config.h"
#include "lb/server_state.h"

namespace nines::lb {

// True for the statuses that say the server (or what is behind it) failed,
// not the application: 502, 503 and 504, as Envoy's
// consecutive_gateway_failure counts. A 500 or 501 is the application's
// answer to that request; any client can ask for one, so it must not eject.
bool IsGatewayFailure(int status);

// Records a response head with `status` from `server`: a failure if it is a
// gateway failure, else a success. Returns true if it ejected the server.
bool RecordResponse(ServerState& server, int status, int64_t now_ms, const OutlierConfig& config,
                    const std::vector<std::shared_ptr<ServerState>>& pool);

// Records a successful response (anything but a failure) from `server`.
void RecordSuccess(ServerState& server, int64_t now_ms, const OutlierConfig& config);

// Records a failure (connect error, reset, timeout, bad response, 502-504). Returns true if it
// ejected the server. `pool` is used for the max_ejection_percent guard.
bool RecordFailure(ServerState& server, int64_t now_ms, const OutlierConfig& config,
                   const std::vector<std::shared_ptr<ServerState>>& pool);

// Records the time from sending a request to `server` to its response head.
// Keeps an EWMA; ejects the server (returns true) if latency_ms is set, the
// server has latency_min_samples samples, and its EWMA is above latency_ms
// and above latency_factor x the median EWMA of its tier (servers with
// enough samples, itself included), within the max_ejection_percent guard.
bool RecordLatency(ServerState& server, int64_t latency_ms, int64_t now_ms,
                   const OutlierConfig& config,
                   const std::vector<std::shared_ptr<ServerState>>& pool);

}  // namespace nines::lb
