// `nines dns`: the command-line entry point of the global traffic manager
// and its config checker (for `nines check`).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nines {

int RunDnsCommand(const std::vector<std::string>& args);
// Ok when `file` is a valid dns.toml, else the FILE:LINE:COL error lines.
Status CheckDnsConfig(const std::string& file);

}  // namespace nines
