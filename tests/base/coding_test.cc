// base/coding.h: each integer encoding round-trips, has the byte order it
// claims, and rejects malformed input without reading past the end.
#include "base/coding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace nines {
namespace {

TEST(CodingTest, FixedWidthIsLittleEndian) {
  std::string s;
  PutFixed32(&s, 0x04030201);
  PutFixed64(&s, 0x0807060504030201ULL);
  EXPECT_EQ(s, std::string("\x01\x02\x03\x04\x01\x02\x03\x04\x05\x06\x07\x08", 12));
  EXPECT_EQ(DecodeFixed32(s.data()), 0x04030201u);
  EXPECT_EQ(DecodeFixed64(s.data() + 4), 0x0807060504030201ULL);
  char buf[8];
  EncodeFixed64(buf, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(DecodeFixed64(buf), std::numeric_limits<uint64_t>::max());
}

TEST(CodingTest, BigEndianIsNetworkOrder) {
  uint8_t b[4];
  EncodeBigEndian16(b, 0x0102);
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[1], 0x02);
  EXPECT_EQ(DecodeBigEndian16(b), 0x0102);
  EncodeBigEndian32(b, 0xA1B2C3D4);
  EXPECT_EQ(b[0], 0xA1);
  EXPECT_EQ(b[3], 0xD4);
  EXPECT_EQ(DecodeBigEndian32(b), 0xA1B2C3D4u);
  EncodeBigEndian16(b, 0xFFFF);
  EXPECT_EQ(DecodeBigEndian16(b), 0xFFFF);
}

TEST(CodingTest, VarintRoundTripsAndSaysWhyItFails) {
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     std::numeric_limits<uint64_t>::max()}) {
    std::string s;
    PutVarint64(&s, v);
    size_t pos = 0;
    uint64_t got = 1;
    EXPECT_EQ(GetVarint64(s, &pos, &got), nullptr) << v;
    EXPECT_EQ(got, v);
    EXPECT_EQ(pos, s.size());
  }
  size_t pos = 0;
  uint64_t v = 0;
  EXPECT_STREQ(GetVarint64(std::string("\x80", 1), &pos, &v), "truncated varint");
  pos = 0;
  std::string overflow(9, '\xff');
  overflow += '\x02';  // the tenth byte may only carry bit 63
  EXPECT_STREQ(GetVarint64(overflow, &pos, &v), "varint overflows 64 bits");
  EXPECT_EQ(pos, overflow.size());
}

TEST(CodingTest, DecoderReadsInOrderAndStopsAtTheEnd) {
  std::string s;
  PutFixed32(&s, 7);
  PutLengthPrefixed(&s, "abc");
  PutVarint64(&s, 1000);
  Decoder d(s);
  uint32_t a = 0;
  std::string_view b;
  uint64_t c = 0;
  ASSERT_TRUE(d.GetFixed32(&a));
  ASSERT_TRUE(d.GetLengthPrefixed(&b));
  ASSERT_TRUE(d.GetVarint64(&c));
  EXPECT_EQ(a, 7u);
  EXPECT_EQ(b, "abc");
  EXPECT_EQ(c, 1000u);
  EXPECT_TRUE(d.done());
  EXPECT_FALSE(d.GetVarint64(&c));
  EXPECT_FALSE(Decoder(std::string_view("\x05"
                                        "ab",
                                        3))
                   .GetLengthPrefixed(&b));
}

TEST(CodingTest, HexDigitValueTakesBothCases) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue('/'), -1);
  EXPECT_EQ(HexDigitValue(':'), -1);
  EXPECT_EQ(HexDigitValue('\xff'), -1);
}

TEST(CodingTest, FixedHexTakesExactlyTheDigitsFmtWrites) {
  EXPECT_EQ(ParseFixedHex("00000000000000ff", 16), 255u);
  EXPECT_EQ(ParseFixedHex("ffffffffffffffff", 16), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(ParseFixedHex("0a", 2), 10u);
  EXPECT_EQ(ParseFixedHex("00000000000000FF", 16), std::nullopt);  // uppercase
  EXPECT_EQ(ParseFixedHex("0000000000000ff", 16), std::nullopt);   // short
  EXPECT_EQ(ParseFixedHex("+000000000000000", 16), std::nullopt);
  EXPECT_EQ(ParseFixedHex("0x", 2), std::nullopt);
  EXPECT_EQ(ParseFixedHex("00000000000000000", 17), std::nullopt);  // over 64 bits
}

}  // namespace
}  // namespace nines
