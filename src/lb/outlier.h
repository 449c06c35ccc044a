// Passive health (Envoy's outlier detection): every request's outcome on a
// server is recorded; a run of consecutive failures ejects the server for a
// time that grows each time it is ejected again, while a guard keeps at
// least part of the pool in rotation. Active checks and ejection are
// independent: a server takes traffic only when both allow it.
#pragma once

#include <memory>
#include <vector>

#include "lb/lb_config.h"
#include "lb/server_state.h"

namespace nines {

// Records a successful response (anything but a failure) from `server`.
void RecordSuccess(ServerState& server, int64_t now_ms, const OutlierConfig& config);

// Records a failure (connect error, reset, timeout, 5xx). Returns true if it
// ejected the server. `pool` is used for the max_ejection_percent guard.
bool RecordFailure(ServerState& server, int64_t now_ms, const OutlierConfig& config,
                   const std::vector<std::shared_ptr<ServerState>>& pool);

}  // namespace nines
