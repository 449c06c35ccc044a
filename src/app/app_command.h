// `nines app --config app.toml`: the reference stateless web service of the
// blueprint (orders API; every byte of state in the nines store).
#pragma once

#include <string>
#include <vector>

namespace nines {

int RunAppCommand(const std::vector<std::string>& args);
// "FILE:LINE:COL: message" lines for every problem in an app.toml, or "".
std::string CheckAppConfig(const std::string& file);

}  // namespace nines
