// Snapshot files: round trip, atomicity under crashes and disk faults,
// detection of every kind of damage, retention of the newest N.
#include "store/snapshot_file.h"

#include <gtest/gtest.h>

#include <string>

#include "faulty_file.h"
#include "test_util.h"

namespace nines::store {
namespace {

using testing::FaultyFileSystem;
using testing::TempDir;

constexpr uint64_t kMax = 1 << 20;

TEST(Snapshot, WriteThenLoadLatest) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  ASSERT_TRUE(WriteSnapshot(fs, dir.path(), {10, 2}, "state at ten").ok());
  ASSERT_TRUE(WriteSnapshot(fs, dir.path(), {25, 3}, std::string("bin\0ary", 7)).ok());
  SnapshotMeta meta;
  std::string content;
  bool found = false;
  ASSERT_TRUE(LoadLatestSnapshot(fs, dir.path(), kMax, &meta, &content, &found).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(meta.index, 25u);
  EXPECT_EQ(meta.term, 3u);
  EXPECT_EQ(content, std::string("bin\0ary", 7));
  EXPECT_EQ(SnapshotFileName({25, 3}), "snap-0000000000000019-0000000000000003.snap");
}

TEST(Snapshot, NoSnapshotIsNotAnError) {
  TempDir dir;
  SnapshotMeta meta;
  std::string content;
  bool found = true;
  ASSERT_TRUE(
      LoadLatestSnapshot(PosixFileSystem(), dir.Sub("missing"), kMax, &meta, &content, &found)
          .ok());
  EXPECT_FALSE(found);
  ASSERT_TRUE(
      LoadLatestSnapshot(PosixFileSystem(), dir.path(), kMax, &meta, &content, &found).ok());
  EXPECT_FALSE(found);
}

TEST(Snapshot, EveryFlippedByteIsDetected) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  ASSERT_TRUE(WriteSnapshot(fs, dir.path(), {7, 1}, "some state bytes").ok());
  const std::string path = dir.Sub(SnapshotFileName({7, 1}));
  const std::string original = testing::ReadFileBytes(path);
  for (uint64_t offset = 0; offset < original.size(); ++offset) {
    testing::WriteFileBytes(path, original);
    testing::FlipByte(path, offset);
    SnapshotMeta meta;
    std::string content;
    Status status = LoadSnapshot(fs, path, kMax, &meta, &content);
    ASSERT_TRUE(status.IsCorruption()) << "flip at " << offset;
    EXPECT_NE(status.message().find(path), std::string::npos);
  }
}

TEST(Snapshot, TruncatedOrRenamedIsDetected) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  ASSERT_TRUE(WriteSnapshot(fs, dir.path(), {7, 1}, "some state bytes").ok());
  const std::string path = dir.Sub(SnapshotFileName({7, 1}));
  SnapshotMeta meta;
  std::string content;
  const std::string renamed = dir.Sub(SnapshotFileName({9, 1}));
  std::filesystem::rename(path, renamed);
  Status status = LoadSnapshot(fs, renamed, kMax, &meta, &content);
  EXPECT_NE(status.message().find("does not match"), std::string::npos) << status.ToString();
  testing::TruncateFileTo(renamed, testing::FileSize(renamed) - 1);
  status = LoadSnapshot(fs, renamed, kMax, &meta, &content);
  EXPECT_NE(status.message().find("header says"), std::string::npos) << status.ToString();
  testing::TruncateFileTo(renamed, 10);
  EXPECT_TRUE(LoadSnapshot(fs, renamed, kMax, &meta, &content).IsCorruption());
}

TEST(Snapshot, DamagedNewestIsAnErrorNotAFallback) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  ASSERT_TRUE(WriteSnapshot(fs, dir.path(), {5, 1}, "old").ok());
  ASSERT_TRUE(WriteSnapshot(fs, dir.path(), {9, 1}, "new").ok());
  testing::FlipByte(dir.Sub(SnapshotFileName({9, 1})), kSnapshotHeaderSize);
  SnapshotMeta meta;
  std::string content;
  bool found = false;
  Status status = LoadLatestSnapshot(fs, dir.path(), kMax, &meta, &content, &found);
  EXPECT_TRUE(status.IsCorruption());
  EXPECT_NE(status.message().find("content checksum mismatch"), std::string::npos);
}

TEST(Snapshot, OverTheSizeLimitIsRefused) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  ASSERT_TRUE(WriteSnapshot(fs, dir.path(), {1, 1}, std::string(1000, 'x')).ok());
  SnapshotMeta meta;
  std::string content;
  EXPECT_FALSE(LoadSnapshot(fs, dir.Sub(SnapshotFileName({1, 1})), 999, &meta, &content).ok());
}

TEST(Snapshot, CrashBeforeRenameLeavesOnlyTheOldSnapshot) {
  TempDir dir;
  FaultyFileSystem fs;
  ASSERT_TRUE(WriteSnapshot(&fs, dir.path(), {5, 1}, "old").ok());
  fs.FailSyncs(1, EIO);  // the new snapshot's fsync fails: no rename happens
  EXPECT_FALSE(WriteSnapshot(&fs, dir.path(), {9, 1}, "new").ok());
  fs.SimulateCrash();
  SnapshotMeta meta;
  std::string content;
  bool found = false;
  ASSERT_TRUE(LoadLatestSnapshot(&fs, dir.path(), kMax, &meta, &content, &found).ok());
  EXPECT_EQ(meta.index, 5u);
  EXPECT_EQ(content, "old");
}

TEST(Snapshot, DiskFullFailsTheWrite) {
  TempDir dir;
  FaultyFileSystem fs;
  fs.FailWritesAfter(50, ENOSPC);
  Status status = WriteSnapshot(&fs, dir.path(), {3, 1}, std::string(200, 's'));
  EXPECT_EQ(status.code(), Status::Code::kNoSpace);
  std::vector<SnapshotFileInfo> list;
  ASSERT_TRUE(ListSnapshots(&fs, dir.path(), &list).ok());
  EXPECT_TRUE(list.empty());
}

TEST(Snapshot, CrashAfterWriteKeepsTheNewSnapshot) {
  TempDir dir;
  FaultyFileSystem fs;
  ASSERT_TRUE(WriteSnapshot(&fs, dir.path(), {9, 2}, "durable").ok());
  fs.SimulateCrash();
  SnapshotMeta meta;
  std::string content;
  bool found = false;
  ASSERT_TRUE(LoadLatestSnapshot(&fs, dir.path(), kMax, &meta, &content, &found).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(content, "durable");
}

TEST(Snapshot, KeepsTheNewestNAndRemovesTmpFiles) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  for (uint64_t i = 1; i <= 6; ++i) {
    ASSERT_TRUE(WriteSnapshot(fs, dir.path(), {i * 10, 1}, "s" + std::to_string(i)).ok());
  }
  testing::WriteFileBytes(dir.Sub(SnapshotFileName({70, 1}) + ".tmp"), "partial");
  testing::WriteFileBytes(dir.Sub("unrelated.txt"), "keep me");
  ASSERT_TRUE(RemoveOldSnapshots(fs, dir.path(), {60, 1}, 2).ok());
  std::vector<SnapshotFileInfo> list;
  ASSERT_TRUE(ListSnapshots(fs, dir.path(), &list).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].meta.index, 50u);
  EXPECT_EQ(list[1].meta.index, 60u);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub(SnapshotFileName({70, 1}) + ".tmp")));
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("unrelated.txt")));
}

// Files newer than the snapshot just marked (or of its index, another term)
// have no marker: they go, and never push the marked one out.
TEST(Snapshot, CleanupDropsUnmarkedNewerFilesAndKeepsTheMarkedOne) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  for (SnapshotMeta meta : {SnapshotMeta{10, 1}, SnapshotMeta{20, 1}, SnapshotMeta{20, 2},
                            SnapshotMeta{300, 1}, SnapshotMeta{400, 2}}) {
    ASSERT_TRUE(WriteSnapshot(fs, dir.path(), meta, "s").ok());
  }
  ASSERT_TRUE(RemoveOldSnapshots(fs, dir.path(), {20, 2}, 2).ok());
  std::vector<SnapshotFileInfo> list;
  ASSERT_TRUE(ListSnapshots(fs, dir.path(), &list).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].meta.index, 10u);
  EXPECT_EQ(list[1].meta.index, 20u);
  EXPECT_EQ(list[1].meta.term, 2u);
}

}  // namespace
}  // namespace nines::store
