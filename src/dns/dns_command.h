// `nines dns`: the command-line entry point of the global traffic manager
// and its config checker (for `nines check`).
#pragma once

#include <string>
#include <vector>

namespace nines {

int RunDnsCommand(const std::vector<std::string>& args);
// "" when `file` is a valid dns.toml, else the FILE:LINE:COL error lines.
std::string CheckDnsConfig(const std::string& file);

}  // namespace nines
