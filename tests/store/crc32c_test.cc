// CRC32C against the published vectors (RFC 3720 B.4, LevelDB's crc32c_test),
// hardware and table implementations agreeing, and masking.
#include "store/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace nines::store::crc32c {
namespace {

TEST(Crc32c, StandardVectors) {
  EXPECT_EQ(Value("123456789"), 0xe3069283u);
  std::string buf(32, '\0');
  EXPECT_EQ(Value(buf), 0x8a9136aau);
  buf.assign(32, '\xff');
  EXPECT_EQ(Value(buf), 0x62a8ab43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(Value(buf), 0x46dd794eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(Value(buf), 0x113fdb5cu);
  EXPECT_EQ(Value(""), 0u);
}

TEST(Crc32c, IscsiReadCommand) {
  const unsigned char data[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  EXPECT_EQ(Value(reinterpret_cast<const char*>(data), sizeof(data)), 0xd9963a56u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string text = "hello world, this is longer than eight bytes";
  for (size_t split = 0; split <= text.size(); ++split) {
    EXPECT_EQ(Extend(Value(text.data(), split), text.data() + split, text.size() - split),
              Value(text));
  }
}

TEST(Crc32c, HardwareMatchesPortable) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string data(rng() % 300, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    size_t offset = data.empty() ? 0 : rng() % data.size();  // unaligned starts too
    EXPECT_EQ(Extend(123, data.data() + offset, data.size() - offset),
              ExtendPortable(123, data.data() + offset, data.size() - offset));
  }
}

TEST(Crc32c, Mask) {
  uint32_t crc = Value("foo");
  EXPECT_NE(crc, Mask(crc));
  EXPECT_NE(crc, Mask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Unmask(Mask(Mask(crc)))));
}

}  // namespace
}  // namespace nines::store::crc32c
