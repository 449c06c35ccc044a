// store.toml parsing: the durability switch. `fsync = false` alone is refused
// (it voids vote and acknowledgement durability); only the explicit
// `unsafe_no_fsync = true` turns fsync off, as etcd's --unsafe-no-fsync.
#include "store/store_config.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace nines::store {
namespace {

std::string MemberToml(const std::string& extra) {
  return "id = \"s1\"\n"
         "data_dir = \"data/s1\"\n"
         "client = \"127.0.0.1:6380\"\n"
         "http = \"127.0.0.1:7380\"\n"
         "peer = \"127.0.0.1:7480\"\n" +
         extra +
         "\n[[member]]\n"
         "id = \"s1\"\n"
         "peer = \"127.0.0.1:7480\"\n"
         "client = \"127.0.0.1:6380\"\n";
}

std::optional<StoreConfig> Read(const testing::TempDir& dir, const std::string& text,
                                std::string* errors) {
  std::string path = dir.Sub("store.toml");
  testing::WriteFileBytes(path, text);
  ConfigErrors e;
  std::optional<StoreConfig> c = ReadStoreConfig(path, &e);
  *errors = e.ToString();
  return c;
}

TEST(StoreConfigTest, FsyncIsOnByDefault) {
  testing::TempDir dir;
  std::string errors;
  std::optional<StoreConfig> c = Read(dir, MemberToml(""), &errors);
  ASSERT_TRUE(c) << errors;
  EXPECT_TRUE(c->fsync);
}

TEST(StoreConfigTest, FsyncFalseAloneIsRefused) {
  testing::TempDir dir;
  std::string errors;
  std::optional<StoreConfig> c = Read(dir, MemberToml("fsync = false\n"), &errors);
  EXPECT_FALSE(c) << "fsync = false accepted without unsafe_no_fsync";
  EXPECT_NE(errors.find("unsafe_no_fsync"), std::string::npos) << errors;
}

TEST(StoreConfigTest, UnsafeNoFsyncTurnsFsyncOff) {
  testing::TempDir dir;
  std::string errors;
  std::optional<StoreConfig> c = Read(dir, MemberToml("unsafe_no_fsync = true\n"), &errors);
  ASSERT_TRUE(c) << errors;
  EXPECT_FALSE(c->fsync);
}

}  // namespace
}  // namespace nines::store

namespace nines::store {
namespace {

TEST(StoreConfigTest, RequirepassFileIsReadRelativeToTheConfig) {
  testing::TempDir dir;
  testing::WriteFileBytes(dir.Sub("secret"), "pw-from-file\n");
  std::string errors;
  std::optional<StoreConfig> c = Read(dir, MemberToml("requirepass_file = \"secret\"\n"), &errors);
  ASSERT_TRUE(c) << errors;
  EXPECT_EQ(c->requirepass, "pw-from-file");
  EXPECT_FALSE(c->metrics_without_auth);
}

TEST(StoreConfigTest, RequirepassFileErrors) {
  testing::TempDir dir;
  std::string errors;
  EXPECT_FALSE(Read(dir, MemberToml("requirepass_file = \"missing\"\n"), &errors));
  EXPECT_NE(errors.find("requirepass_file"), std::string::npos) << errors;
  testing::WriteFileBytes(dir.Sub("secret"), "x");
  EXPECT_FALSE(
      Read(dir, MemberToml("requirepass = \"a\"\nrequirepass_file = \"secret\"\n"), &errors));
  EXPECT_NE(errors.find("not both"), std::string::npos) << errors;
}

// The WAL's segment size is a store.toml key (a member on a small disk needs
// small segments, so that snapshots can purge them).
TEST(StoreConfigTest, WalSegmentBytesIsReadAndBounded) {
  testing::TempDir dir;
  std::string errors;
  std::optional<StoreConfig> c = Read(dir, MemberToml(""), &errors);
  ASSERT_TRUE(c) << errors;
  EXPECT_EQ(c->wal_segment_bytes, 64ull << 20);
  c = Read(dir, MemberToml("wal_segment_bytes = 4194304\n"), &errors);
  ASSERT_TRUE(c) << errors;
  EXPECT_EQ(c->wal_segment_bytes, 4ull << 20);
  c = Read(dir, MemberToml("wal_segment_bytes = 4096\n"), &errors);
  EXPECT_FALSE(c) << "a 4 KiB segment accepted";
  EXPECT_NE(errors.find("wal_segment_bytes"), std::string::npos) << errors;
}

}  // namespace
}  // namespace nines::store
