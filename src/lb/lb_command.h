// Entry points of `nines lb` and of `nines check` for lb configs.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nines {

int RunLbCommand(const std::vector<std::string>& args);
Status CheckLbConfig(const std::string& file);

}  // namespace nines
