// The staging of chunked incoming snapshots: chunks in order with their
// checksums, the whole stream verified on read-back, and no file left behind
// by a stream that fails or never finishes.
#include "store/snapshot_receiver.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "store/crc32c.h"
#include "test_util.h"

namespace nines::store {
namespace {

size_t Files(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

std::string Data(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

TEST(SnapshotReceiverTest, ChunksInOrderAreReadBackAndVerified) {
  testing::TempDir dir;
  std::string data = Data(10000);
  SnapshotReceiver r(PosixFileSystem(), dir.path(), 1 << 20);
  ASSERT_TRUE(r.Begin(data.size(), crc32c::Value(data)).ok());
  for (size_t off = 0; off < data.size(); off += 3000) {
    std::string_view piece = std::string_view(data).substr(off, 3000);
    ASSERT_TRUE(r.Add(off, piece, crc32c::Value(piece)).ok());
  }
  ASSERT_TRUE(r.complete());
  std::string got;
  ASSERT_TRUE(r.Finish(&got).ok());
  EXPECT_EQ(got, data);
  EXPECT_EQ(Files(dir.path()), 0u);
}

TEST(SnapshotReceiverTest, BadChunksAreRefused) {
  testing::TempDir dir;
  std::string data = Data(8000);
  SnapshotReceiver r(PosixFileSystem(), dir.path(), 1 << 20);
  ASSERT_TRUE(r.Begin(data.size(), crc32c::Value(data)).ok());
  std::string_view first = std::string_view(data).substr(0, 4000);
  std::string_view second = std::string_view(data).substr(4000);
  EXPECT_TRUE(r.Add(4000, second, crc32c::Value(second)).IsCorruption()) << "gap";
  EXPECT_TRUE(r.Add(0, first, crc32c::Value(first) ^ 1).IsCorruption()) << "checksum";
  ASSERT_TRUE(r.Add(0, first, crc32c::Value(first)).ok());
  std::string got;
  EXPECT_FALSE(r.Finish(&got).ok()) << "incomplete";
  std::string longer = std::string(second) + "x";
  EXPECT_TRUE(r.Add(4000, longer, crc32c::Value(longer)).IsCorruption()) << "past the end";
}

TEST(SnapshotReceiverTest, WholeStreamChecksumMismatchIsRefusedAndRemoved) {
  testing::TempDir dir;
  std::string data = Data(5000);
  SnapshotReceiver r(PosixFileSystem(), dir.path(), 1 << 20);
  ASSERT_TRUE(r.Begin(data.size(), crc32c::Value(data) ^ 0x10).ok());
  ASSERT_TRUE(r.Add(0, data, crc32c::Value(data)).ok());
  std::string got;
  EXPECT_TRUE(r.Finish(&got).IsCorruption());
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(Files(dir.path()), 0u);
}

TEST(SnapshotReceiverTest, OversizedOrUnfinishedStreamsLeaveNoFile) {
  testing::TempDir dir;
  {
    SnapshotReceiver r(PosixFileSystem(), dir.path(), 1000);
    EXPECT_FALSE(r.Begin(1001, 0).ok());
    ASSERT_TRUE(r.Begin(1000, 0).ok());
    std::string piece(10, 'a');
    ASSERT_TRUE(r.Add(0, piece, crc32c::Value(piece)).ok());
    EXPECT_EQ(Files(dir.path()), 1u);
  }
  EXPECT_EQ(Files(dir.path()), 0u);
  testing::WriteFileBytes(dir.Sub("incoming-1-1.part"), "left by a crash");
  testing::WriteFileBytes(dir.Sub("snap-keep.snap"), "not ours");
  ASSERT_TRUE(RemoveIncomingSnapshots(PosixFileSystem(), dir.path()).ok());
  EXPECT_EQ(Files(dir.path()), 1u);
}

}  // namespace
}  // namespace nines::store
