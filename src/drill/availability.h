// Availability as the article counts it: successful / total requests, as a
// percentage and as "nines" (-log10 of the failure fraction: 99.95% is 3.3
// nines). A run without a failure can only claim a lower bound: the 95%
// Clopper-Pearson bound on availability (the rule of three: the failure
// fraction is below about 3/n), printed rounded down.
#pragma once

#include <cstdint>
#include <string>

namespace nines::drill {

struct Availability {
  uint64_t ok = 0;
  uint64_t total = 0;
  double percent = 100.0;  // 100 when total is 0
  double nines = 0;        // for a perfect run: CleanRunNines(total), a 95% lower bound
  bool perfect = true;     // no failure at all

  // "99.950% (3.3 nines)" or "100% (>= 3.3 nines over 6000 requests, 95% bound)".
  std::string Text() const;
  // The percentage alone, rounded down to three places: "99.316%" (never up
  // to a figure the run did not reach; 99.9996 is not "100.000").
  std::string PercentText() const;
};

Availability ComputeAvailability(uint64_t ok, uint64_t total);

// The nines a run of `requests` requests without a failure can claim with
// 95% confidence: -log10(1 - 0.05^(1/n)). 6,000 requests: 3.30.
double CleanRunNines(uint64_t requests);

// Nines of an availability fraction a in [0, 1): -log10(1 - a).
double NinesOf(double fraction);

}  // namespace nines::drill
