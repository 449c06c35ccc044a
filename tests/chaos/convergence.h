// Replica convergence after the chaos run: once every fault is healed, every
// member's own state (read with READONLY: no forwarding, no barrier) must
// come to hold the same value for every key.
#pragma once

#include <string>
#include <vector>

#include "cluster.h"

namespace nines::chaos {

// Polls until every member answers the same value for every key, or
// timeout_ms passes. Returns one line per key that still differs ("" values
// are absent keys; "?" is a member that did not answer).
std::vector<std::string> CheckConvergence(const Cluster& cluster,
                                          const std::vector<std::string>& keys, int timeout_ms);

}  // namespace nines::chaos
