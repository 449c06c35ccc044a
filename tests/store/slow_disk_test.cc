// The slow disk of the drill's slow-disk fault: with NINES_FSYNC_DELAY_FILE
// set (before the first sync: it is read once per process, so this test has
// a binary of its own), a Sync waits the milliseconds the file holds, and is
// fast again within 100 ms of the file going back to 0.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "store/file.h"

namespace nines::store {
namespace {

int64_t SyncMs(File& file) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(file.Append("x").ok());
  EXPECT_TRUE(file.Sync().ok());
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

void WriteDelay(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp", std::ios::trunc) << text;
  std::filesystem::rename(path + ".tmp", path);
}

TEST(SlowDisk, SyncWaitsTheDelayTheFileHolds) {
  std::string dir = std::filesystem::temp_directory_path() / "nines_slow_disk_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string delay = dir + "/fsync-delay-ms";
  WriteDelay(delay, "150\n");
  ASSERT_EQ(setenv("NINES_FSYNC_DELAY_FILE", delay.c_str(), 1), 0);
  std::unique_ptr<File> file;
  ASSERT_TRUE(PosixFileSystem()->Create(dir + "/wal", &file).ok());
  EXPECT_GE(SyncMs(*file), 150);
  EXPECT_GE(SyncMs(*file), 150);
  WriteDelay(delay, "0\n");
  // Read again at most every 100 ms: fast within a few syncs, then for good.
  int64_t slow_syncs = 0;
  while (SyncMs(*file) >= 150) ASSERT_LT(++slow_syncs, 3);
  for (int i = 0; i < 5; ++i) EXPECT_LT(SyncMs(*file), 100);
  EXPECT_TRUE(file->Close().ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nines::store
