// `nines app --config app.toml`: the reference stateless web service of the
// blueprint (orders API; every byte of state in the nines store).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nines {

int RunAppCommand(const std::vector<std::string>& args);
// Ok, or every problem in an app.toml as "FILE:LINE:COL: message" lines.
Status CheckAppConfig(const std::string& file);

}  // namespace nines
