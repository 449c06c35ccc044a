// Availability: percent, nines, and the lower bound of a perfect run.
#include "drill/availability.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nines::drill {
namespace {

TEST(Availability, NinesOfCommonFigures) {
  EXPECT_NEAR(NinesOf(0.999), 3.0, 1e-9);
  EXPECT_NEAR(NinesOf(0.9995), 3.30103, 1e-4);
  EXPECT_NEAR(NinesOf(0.99999), 5.0, 1e-6);
  EXPECT_NEAR(NinesOf(0.0), 0.0, 1e-12);
}

TEST(Availability, PercentAndNines) {
  Availability a = ComputeAvailability(19990, 20000);
  EXPECT_FALSE(a.perfect);
  EXPECT_NEAR(a.percent, 99.95, 1e-9);
  EXPECT_NEAR(a.nines, 3.3, 0.01);
  EXPECT_EQ(a.Text(), "99.950% (3.3 nines)");
}

TEST(Availability, PerfectRunClaimsTheRuleOfThreeBoundRoundedDown) {
  // Clopper-Pearson 95% one-sided with no failure: the failure fraction is
  // below 1 - 0.05^(1/n), about 3/n. 6,000 clean requests: 3.3 nines, not
  // log10(6000) = 3.8 (a three-nines system gets 1,500 clean ones ~22% of the time).
  Availability a = ComputeAvailability(6000, 6000);
  EXPECT_TRUE(a.perfect);
  EXPECT_EQ(a.percent, 100.0);
  EXPECT_NEAR(a.nines, 3.3017, 0.001);
  EXPECT_EQ(a.Text(), "100% (>= 3.3 nines over 6000 requests, 95% bound)");
}

TEST(Availability, CleanRunBoundIsBelowTheNaiveCount) {
  for (uint64_t n : {10ULL, 300ULL, 1500ULL, 100000ULL, 10000000ULL}) {
    Availability a = ComputeAvailability(n, n);
    EXPECT_LT(a.nines, std::log10(static_cast<double>(n)) + 1e-12) << n;
    // The bound is about 3/n: within a few percent of -log10(3/n) for large n.
    if (n >= 300) {
      EXPECT_NEAR(a.nines, -std::log10(3.0 / static_cast<double>(n)), 0.01) << n;
    }
  }
  // 1,500 clean requests: less than three nines can be claimed.
  EXPECT_LT(ComputeAvailability(1500, 1500).nines, 3.0);
  // Rounded down: 3.0 nines is printed only once 3.0 is reached.
  EXPECT_EQ(ComputeAvailability(2994, 2994).Text(),
            "100% (>= 2.9 nines over 2994 requests, 95% bound)");
  EXPECT_EQ(ComputeAvailability(2995, 2995).Text(),
            "100% (>= 3.0 nines over 2995 requests, 95% bound)");
}

TEST(Availability, CleanRunBoundFromTheBinomial) {
  // Exact: with a failure fraction equal to the bound, n clean requests
  // happen with probability 5%.
  for (uint64_t n : {20ULL, 6000ULL}) {
    double failure = std::pow(10.0, -ComputeAvailability(n, n).nines);
    EXPECT_NEAR(std::pow(1.0 - failure, static_cast<double>(n)), 0.05, 1e-9) << n;
  }
}

TEST(Availability, NeverRoundsUpToAFigureNotReached) {
  Availability a = ComputeAvailability(999999, 1000000);
  EXPECT_EQ(a.Text(), "99.999% (6.0 nines)");
  Availability b = ComputeAvailability(9989, 10000);  // 99.89: not 3 nines
  EXPECT_EQ(b.Text(), "99.890% (2.9 nines)");
}

TEST(Availability, NoRequests) {
  Availability a = ComputeAvailability(0, 0);
  EXPECT_EQ(a.Text(), "n/a (no requests)");
}

}  // namespace
}  // namespace nines::drill
