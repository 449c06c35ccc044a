// Availability: percent, nines, and the lower bound of a perfect run.
#include "drill/availability.h"

#include <gtest/gtest.h>

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

TEST(Availability, PerfectRunIsALowerBound) {
  Availability a = ComputeAvailability(6000, 6000);
  EXPECT_TRUE(a.perfect);
  EXPECT_EQ(a.percent, 100.0);
  EXPECT_NEAR(a.nines, 3.778, 0.001);
  EXPECT_EQ(a.Text(), "100% (>= 3.8 nines over 6000 requests)");
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
