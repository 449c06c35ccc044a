// The simulated file system keeps exactly what was made durable, tears the
// rest at any byte, reverts unsynced names, and injects the faults it is armed with.
#include "sim_fs.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace nines::sim {
namespace {

std::string Read(SimFs& fs, const std::string& path) {
  std::string contents;
  EXPECT_TRUE(fs.ReadAll(path, 1 << 20, &contents).ok()) << path;
  return contents;
}

TEST(SimFsTest, CrashKeepsSyncedBytesAndTearsTheTailAtAnyByte) {
  std::set<size_t> sizes;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SimFs fs;
    ASSERT_TRUE(fs.CreateDirs("/d").ok());
    std::unique_ptr<store::File> f;
    ASSERT_TRUE(fs.Create("/d/a", &f).ok());
    ASSERT_TRUE(fs.SyncDir("/d").ok());
    ASSERT_TRUE(f->Append("durable").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->Append("0123456789").ok());
    EXPECT_EQ(fs.unsynced_bytes(), 10u);
    Prng prng(seed);
    fs.Crash(prng);
    std::string after = Read(fs, "/d/a");
    ASSERT_GE(after.size(), 7u);
    ASSERT_LE(after.size(), 17u);
    EXPECT_EQ(after.substr(0, 7), "durable");
    sizes.insert(after.size());
    // Files opened before the crash are dead.
    EXPECT_FALSE(f->Append("x").ok());
  }
  EXPECT_EQ(sizes.size(), 11u);  // every tear point from 0 to 10 unsynced bytes
}

TEST(SimFsTest, NamesRevertUnlessTheDirectoryWasSynced) {
  SimFs fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  std::unique_ptr<store::File> f;
  ASSERT_TRUE(fs.Create("/d/kept", &f).ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE(fs.Create("/d/lost", &f).ok());
  ASSERT_TRUE(fs.Rename("/d/kept", "/d/renamed").ok());
  Prng prng(1);
  fs.Crash(prng);
  std::vector<std::string> names;
  ASSERT_TRUE(fs.List("/d", &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"kept"});
}

TEST(SimFsTest, ArmedFaultsFailWritesAndSyncsUntilCleared) {
  SimFs fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  std::unique_ptr<store::File> f;
  ASSERT_TRUE(fs.Create("/d/a", &f).ok());
  fs.FailWritesAfter(3, ENOSPC);
  Status s = f->Append("abcdef");
  EXPECT_EQ(s.code(), Status::Code::kNoSpace);
  EXPECT_EQ(f->Size(), 3u);  // a partial write landed
  EXPECT_FALSE(f->Append("g").ok());
  fs.ClearFaults();
  EXPECT_TRUE(f->Append("g").ok());
  fs.FailSyncs(1);
  EXPECT_EQ(f->Sync().code(), Status::Code::kIoError);
  EXPECT_TRUE(f->Sync().ok());
  fs.FailWritesAfter(0, EIO);
  EXPECT_EQ(f->Append("h").code(), Status::Code::kIoError);
  fs.ClearFaults();
  EXPECT_FALSE(fs.faults_armed());
}

TEST(SimFsTest, PowerCutFiresAfterTheArmedNumberOfOperations) {
  SimFs fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  std::unique_ptr<store::File> f;
  ASSERT_TRUE(fs.Create("/d/a", &f).ok());
  fs.CutPowerAfter(2);
  EXPECT_TRUE(f->Append("1").ok());
  EXPECT_TRUE(f->Append("2").ok());
  EXPECT_THROW((void)f->Append("3"), PowerCut);
  EXPECT_TRUE(f->Append("4").ok());  // fired once, then disarmed
  fs.CutPowerAfter(0);
  fs.ClearFaults();
  EXPECT_TRUE(f->Sync().ok());
}

TEST(SimFsTest, PowerCutCanBeAimedAtTheNextFileCreation) {
  SimFs fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  std::unique_ptr<store::File> f;
  ASSERT_TRUE(fs.Create("/d/a", &f).ok());
  fs.CutPowerAfterNextCreate(1);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(f->Append("x").ok());
  std::unique_ptr<store::File> g;
  ASSERT_TRUE(fs.Create("/d/b", &g).ok());
  EXPECT_TRUE(g->Append("header").ok());
  EXPECT_THROW((void)g->Sync(), PowerCut);
}

}  // namespace
}  // namespace nines::sim
