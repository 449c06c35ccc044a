// `nines up [blueprint.toml] [--fresh] [--dir RUN]`: the whole blueprint on
// this machine with a live dashboard; and `nines check` for blueprints.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nines {

int RunUpCommand(const std::vector<std::string>& args);
Status CheckBlueprintConfig(const std::string& file);

}  // namespace nines
