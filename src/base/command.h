// The shape every subcommand shares: an entry point taking its arguments and
// returning the exit status (0 ok, 1 runtime failure, 2 bad usage or config),
// and a config checker returning ok or "FILE:LINE:COL: message" lines.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nines {

using CommandFunction = int (*)(const std::vector<std::string>& args);
using ConfigCheckFunction = Status (*)(const std::string& file);

// Guesses which command a config belongs to from its keys: "lb", "store",
// "dns", "app", "up", or "" when it cannot tell.
std::string GuessConfigKind(const std::string& file);

}  // namespace nines
