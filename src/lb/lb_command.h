// Entry points of `nines lb` and of `nines check` for lb configs.
#pragma once

#include <string>
#include <vector>

namespace nines {

int RunLbCommand(const std::vector<std::string>& args);
std::string CheckLbConfig(const std::string& file);

}  // namespace nines
