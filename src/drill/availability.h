// Availability as the article counts it: successful / total requests, as a
// percentage and as "nines" (-log10 of the failure fraction: 99.95% is 3.3
// nines). A run without a failure can only claim a lower bound, given by how
// many requests it made.
#pragma once

#include <cstdint>
#include <string>

namespace nines::drill {

struct Availability {
  uint64_t ok = 0;
  uint64_t total = 0;
  double percent = 100.0;  // 100 when total is 0
  double nines = 0;        // for a perfect run: the lower bound log10(total)
  bool perfect = true;     // no failure at all

  // "99.950% (3.3 nines)" or "100% (>= 3.8 nines over 6000 requests)".
  std::string Text() const;
};

Availability ComputeAvailability(uint64_t ok, uint64_t total);

// Nines of an availability fraction a in [0, 1): -log10(1 - a).
double NinesOf(double fraction);

}  // namespace nines::drill
