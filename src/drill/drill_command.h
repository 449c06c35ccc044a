// `nines drill [blueprint.toml] [--duration S] [--rate R] [--faults LIST]
// [--slo 99.9] [--report DIR] [--up URL]`: drives load through the blueprint
// while injecting faults, and reports availability in nines.
#pragma once

#include <string>
#include <vector>

namespace nines {

int RunDrillCommand(const std::vector<std::string>& args);

}  // namespace nines
