// Entry points of `nines store` and of `nines check` for store configs.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nines {

int RunStoreCommand(const std::vector<std::string>& args);
Status CheckStoreConfig(const std::string& file);

}  // namespace nines
