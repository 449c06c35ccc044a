// ComputeAvailability and its human text.
#include "drill/availability.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace nines::drill {

double NinesOf(double fraction) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  if (fraction >= 1.0) return INFINITY;
  return -std::log10(1.0 - fraction);
}

double CleanRunNines(uint64_t requests) {
  if (requests == 0) return 0;
  // Clopper-Pearson, one-sided 95%, zero failures: the largest failure
  // fraction f with (1 - f)^n >= 0.05 is 1 - 0.05^(1/n) (about 3/n, the rule
  // of three). expm1 keeps the precision for large n.
  double failure = -std::expm1(std::log(0.05) / static_cast<double>(requests));
  return -std::log10(failure);
}

Availability ComputeAvailability(uint64_t ok, uint64_t total) {
  Availability a;
  a.ok = std::min(ok, total);
  a.total = total;
  if (total == 0) return a;
  a.perfect = a.ok == total;
  double fraction = static_cast<double>(a.ok) / static_cast<double>(total);
  a.percent = fraction * 100.0;
  a.nines = a.perfect ? CleanRunNines(total) : NinesOf(fraction);
  return a;
}

std::string Availability::Text() const {
  if (total == 0) return "n/a (no requests)";
  if (perfect) {
    return fmt::format("100% (>= {:.1f} nines over {} requests, 95% bound)",
                       std::floor(nines * 10.0 + 1e-9) / 10.0, total);
  }
  return fmt::format("{} ({:.1f} nines)", PercentText(), std::floor(nines * 10.0 + 1e-6) / 10.0);
}

std::string Availability::PercentText() const {
  return fmt::format("{:.3f}%", std::floor(percent * 1000.0 + 1e-6) / 1000.0);
}

}  // namespace nines::drill
