// The DNS writer's invariants hold in release builds too: misuse by the
// calling code (a bad address length, a limit beyond the buffer, sections
// out of order) stops the process with a message instead of writing a wrong
// or oversized message. This file defines NDEBUG so the tests mean the same
// in every build type.
#ifndef NDEBUG
#define NDEBUG
#endif
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dns/writer.h"
#include "test_zone.h"

namespace nines::dns {
namespace {

using testing::Wire;

TEST(WriterInvariantDeathTest, AddressOfWrongLengthStops) {
  std::vector<uint8_t> out;
  MessageWriter w(&out, 512);
  uint8_t five[5] = {127, 0, 0, 1, 9};
  EXPECT_DEATH(w.AddAddress(Section::kAnswer, Wire("shop.test"), 10, five),
               "invariant broken.*A or AAAA");
}

TEST(WriterInvariantDeathTest, LimitBeyondTheBufferStops) {
  std::vector<uint8_t> out;
  MessageWriter w(&out, 512);
  EXPECT_DEATH(w.set_max_size(4096), "invariant broken.*beyond the buffer");
}

TEST(WriterInvariantDeathTest, SectionsOutOfOrderStop) {
  std::vector<uint8_t> out;
  MessageWriter w(&out, 512);
  uint8_t addr[4] = {127, 0, 0, 1};
  ASSERT_TRUE(w.AddAddress(Section::kAdditional, Wire("shop.test"), 10, addr));
  EXPECT_DEATH(w.AddAddress(Section::kAnswer, Wire("shop.test"), 10, addr),
               "invariant broken.*in order");
}

}  // namespace
}  // namespace nines::dns
