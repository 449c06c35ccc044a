// Entry points of `nines store` and of `nines check` for store configs.
#pragma once

#include <string>
#include <vector>

namespace nines {

int RunStoreCommand(const std::vector<std::string>& args);
std::string CheckStoreConfig(const std::string& file);

}  // namespace nines
