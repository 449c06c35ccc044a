// NINES_CHECK stays on where assert is compiled out: this file defines NDEBUG
// itself, so the death test holds in every build type.
#ifndef NDEBUG
#define NDEBUG
#endif
#include "base/check.h"

#include <gtest/gtest.h>

namespace nines {
namespace {

TEST(CheckDeathTest, BrokenInvariantAbortsWithMessageEvenWithNdebug) {
  int three = 3;
  EXPECT_DEATH(NINES_CHECK(three == 4, "three is four"),
               "invariant broken at .*check_test.cc:[0-9]+: three is four \\(three == 4\\)");
}

TEST(CheckTest, HoldingInvariantEvaluatesConditionOnce) {
  int calls = 0;
  NINES_CHECK(++calls == 1, "evaluated once");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace nines
