// Codec round-trips and rejection of malformed input.
#include <gtest/gtest.h>

#include "raft/codec.h"

namespace nines::raft {
namespace {

Message SampleAppend() {
  Message m;
  m.type = MessageType::kAppend;
  m.from = 1;
  m.to = 2;
  m.term = 7;
  m.log_term = 6;
  m.index = 41;
  m.commit = 40;
  m.context = "ctx";
  m.entries.push_back(Entry{6, 42, EntryType::kNormal, "put k v"});
  m.entries.push_back(
      Entry{7, 43, EntryType::kConfig, EncodeMembership(Membership{{1, 2, 3}, {4}})});
  return m;
}

TEST(CodecTest, MessageRoundTrip) {
  Message m = SampleAppend();
  Message out;
  Status s = DecodeMessage(EncodeMessage(m), &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out, m);
}

TEST(CodecTest, SnapshotMessageRoundTrip) {
  Message m;
  m.type = MessageType::kSnapshot;
  m.from = 3;
  m.to = 1;
  m.term = 9;
  m.snapshot.meta = SnapshotMeta{100, 8, Membership{{1, 2, 3}, {}}};
  m.snapshot.data = std::string(1000, 'z');
  Message out;
  Status s = DecodeMessage(EncodeMessage(m), &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out, m);
}

TEST(CodecTest, SmallTypesRoundTrip) {
  HardState hs{UINT64_MAX, 3, 12345678901ULL}, hs2;
  ASSERT_TRUE(DecodeHardState(EncodeHardState(hs), &hs2).ok());
  EXPECT_EQ(hs, hs2);
  Entry e{5, 6, EntryType::kNormal, std::string("\0bin\xff", 5)}, e2;
  ASSERT_TRUE(DecodeEntry(EncodeEntry(e), &e2).ok());
  EXPECT_EQ(e, e2);
  SnapshotMeta meta{10, 2, Membership{{2, 5}, {7}}}, meta2;
  ASSERT_TRUE(DecodeSnapshotMeta(EncodeSnapshotMeta(meta), &meta2).ok());
  EXPECT_EQ(meta, meta2);
}

TEST(CodecTest, EveryTruncationIsRejected) {
  std::string bytes = EncodeMessage(SampleAppend());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Message out;
    Status s = DecodeMessage(bytes.substr(0, n), &out);
    EXPECT_TRUE(s.IsCorruption()) << n;
    EXPECT_FALSE(s.message().empty());
  }
}

TEST(CodecTest, MalformedInputIsRejectedWithReason) {
  Message out;
  std::string bytes = EncodeMessage(SampleAppend());
  Status s = DecodeMessage(bytes + "x", &out);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("trailing"), std::string::npos);
  std::string bad_type = bytes;
  bad_type[1] = 42;
  s = DecodeMessage(bad_type, &out);
  EXPECT_NE(s.message().find("type"), std::string::npos);

  Message gap = SampleAppend();
  gap.entries[1].index = 50;
  s = DecodeMessage(EncodeMessage(gap), &out);
  EXPECT_NE(s.message().find("consecutive"), std::string::npos);

  Membership unsorted;
  EXPECT_FALSE(DecodeMembership(std::string("\x02\x03\x01\x00", 4), &unsorted).ok());
  EXPECT_FALSE(DecodeMembership(std::string("\x01\x01\x01\x01", 4), &unsorted).ok());  // both
  EXPECT_FALSE(DecodeMembership(std::string("\x00\x00", 2), &unsorted).ok());          // no voters

  HardState hs;
  EXPECT_FALSE(DecodeHardState(std::string(11, '\xff'), &hs).ok());  // varint overflow
}

}  // namespace
}  // namespace nines::raft
