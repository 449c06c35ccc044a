// GrayFaults without processes: the clock file libfaketime reads, its jump and
// its end at for_ms; as root, the member's tmpfs, filled to under 1 MiB free
// and freed at for_ms, unmounted at Cleanup; a killed run's tmpfs unmounted
// at the next start, and nothing outside RUN/data/ touched.
#include "up/gray_faults.h"

#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/process.h"

namespace nines::up {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool IsMounted(const std::string& path) {
  std::ifstream in("/proc/mounts");
  std::string device, mount_point, rest;
  while (in >> device >> mount_point && std::getline(in, rest)) {
    if (mount_point == path) return true;
  }
  return false;
}

int64_t FreeBytes(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

// An absolute test directory (as /proc/mounts names mount points).
std::string AbsoluteTestDir(const std::string& name) {
  return fs::absolute(test::TestDir(name)).lexically_normal().string();
}

std::vector<NodeSpec> Nodes(const std::string& run_dir) {
  NodeSpec app;
  app.name = "r-app-1";
  app.kind = NodeKind::kApp;
  NodeSpec store;
  store.name = "r-store";
  store.kind = NodeKind::kStore;
  store.data_dir = run_dir + "/data/r-store";
  return {app, store};
}

TEST(GrayFaults, NotEnabledRefusesAndUndoIsANoOp) {
  GrayFaults gray;
  EXPECT_EQ(gray.JumpClock("r-store", 3600, 0, 0).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(gray.FillDisk("r-store", 0, 0).code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(gray.ResetClock("r-store").ok());
  EXPECT_TRUE(gray.FreeDisk("r-store").ok());
}

TEST(GrayFaults, ClockJumpsAndComesBackByItself) {
  if (GrayFaults::FindFaketimeLib().empty()) GTEST_SKIP() << "no libfaketime";
  std::string run_dir = AbsoluteTestDir("gray_faults_clock");
  std::vector<NodeSpec> nodes = Nodes(run_dir);
  GrayFaults gray;
  gray.Enable(&nodes, run_dir);
  EXPECT_TRUE(nodes[0].env.empty()) << "only store members";
  ASSERT_EQ(nodes[1].env.size(), 5u);
  EXPECT_EQ(nodes[1].env[0].rfind("LD_PRELOAD=", 0), 0u);
  EXPECT_EQ(nodes[1].env[3], "FAKETIME_DONT_FAKE_MONOTONIC=1");
  EXPECT_EQ(nodes[1].env[4], "NINES_FSYNC_DELAY_FILE=" + run_dir + "/disk/r-store.fsync-delay-ms");
  std::string clock = run_dir + "/clock/r-store";
  EXPECT_EQ(Read(clock), "+0\n");

  EXPECT_TRUE(gray.JumpClock("r-app-1", 3600, 0, 0).IsNotFound());
  ASSERT_TRUE(gray.JumpClock("r-store", 3600, 5000, 1000).ok());
  EXPECT_EQ(Read(clock), "+3600\n");
  EXPECT_EQ(gray.Of("r-store").clock_offset_s, 3600);
  EXPECT_TRUE(gray.Tick(5999).empty());
  EXPECT_EQ(Read(clock), "+3600\n");
  std::vector<std::string> ended = gray.Tick(6000);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_NE(ended[0].find("clock back"), std::string::npos);
  EXPECT_EQ(Read(clock), "+0\n");

  ASSERT_TRUE(gray.JumpClock("r-store", -60, 0, 0).ok());
  EXPECT_EQ(Read(clock), "-60\n");
  EXPECT_TRUE(gray.Tick(1'000'000).empty()) << "for_ms 0: until reset";
  EXPECT_TRUE(gray.ResetClock("r-store").ok());
  EXPECT_EQ(Read(clock), "+0\n");
  ASSERT_TRUE(gray.JumpClock("r-store", 3600, 0, 0).ok());
  gray.Cleanup();
  EXPECT_EQ(Read(clock), "+0\n");
}

TEST(GrayFaults, FsyncSlowsAndComesBackByItself) {
  std::string run_dir = AbsoluteTestDir("gray_faults_fsync");
  std::vector<NodeSpec> nodes = Nodes(run_dir);
  GrayFaults gray;
  gray.Enable(&nodes, run_dir);
  std::string file = run_dir + "/disk/r-store.fsync-delay-ms";
  EXPECT_EQ(Read(file), "0\n");
  EXPECT_TRUE(gray.SlowDisk("r-app-1", 200, 0, 0).IsNotFound());
  ASSERT_TRUE(gray.SlowDisk("r-store", 200, 4000, 1000).ok());
  EXPECT_EQ(Read(file), "200\n");
  EXPECT_EQ(gray.Of("r-store").fsync_delay_ms, 200);
  EXPECT_TRUE(gray.Tick(4999).empty());
  ASSERT_EQ(gray.Tick(5000).size(), 1u);
  EXPECT_EQ(Read(file), "0\n");
  ASSERT_TRUE(gray.SlowDisk("r-store", 50, 0, 0).ok());
  EXPECT_TRUE(gray.FastDisk("r-store").ok());
  EXPECT_EQ(Read(file), "0\n");
  EXPECT_TRUE(gray.FastDisk("r-store").ok());
  ASSERT_TRUE(gray.SlowDisk("r-store", 50, 0, 0).ok());
  gray.Cleanup();
  EXPECT_EQ(Read(file), "0\n");
}

TEST(GrayFaults, DiskFillsUnderTheReserveAndIsFreedAndUnmounted) {
  if (geteuid() != 0) GTEST_SKIP() << "tmpfs needs root";
  std::string run_dir = AbsoluteTestDir("gray_faults_disk");
  std::vector<NodeSpec> nodes = Nodes(run_dir);
  std::string data = nodes[1].data_dir;
  {
    GrayFaults gray;
    gray.Enable(&nodes, run_dir);
    ASSERT_TRUE(IsMounted(data));
    EXPECT_TRUE(gray.Of("r-store").disk);
    EXPECT_GT(FreeBytes(data), 100ll << 20);
    ASSERT_TRUE(gray.FillDisk("r-store", 3000, 0).ok());
    EXPECT_LE(FreeBytes(data), static_cast<int64_t>(GrayFaults::kLeaveFreeBytes));
    EXPECT_TRUE(gray.Of("r-store").disk_filled);
    EXPECT_TRUE(gray.Tick(2999).empty());
    ASSERT_EQ(gray.Tick(3000).size(), 1u);
    EXPECT_GT(FreeBytes(data), 100ll << 20);
    EXPECT_FALSE(fs::exists(data + "/" + GrayFaults::kFillerName));
    // Filled again, then the object goes away: freed and unmounted.
    ASSERT_TRUE(gray.FillDisk("r-store", 0, 0).ok());
    test::WriteFile(data + "/keep", "x");
  }
  EXPECT_FALSE(IsMounted(data));
  EXPECT_FALSE(fs::exists(data + "/keep")) << "the tmpfs's files went with it";
}

TEST(GrayFaults, AKilledRunsTmpfsIsUnmountedAndNothingElse) {
  if (geteuid() != 0) GTEST_SKIP() << "mount needs root";
  std::string run_dir = AbsoluteTestDir("gray_faults_leftover");
  std::string left = run_dir + "/data/r-store";
  std::string other = run_dir + "/elsewhere";
  fs::create_directories(left);
  fs::create_directories(other);
  ASSERT_EQ(::mount("tmpfs", left.c_str(), "tmpfs", 0, "size=1m"), 0);
  ASSERT_EQ(::mount("tmpfs", other.c_str(), "tmpfs", 0, "size=1m"), 0);
  EXPECT_EQ(GrayFaults::UnmountDataDirs(run_dir), 1);
  EXPECT_FALSE(IsMounted(left));
  EXPECT_TRUE(IsMounted(other));
  ::umount2(other.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace nines::up
