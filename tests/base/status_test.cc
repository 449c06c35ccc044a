// Status: ok by default, an error keeps its code and message, ToString names both.
#include "base/status.h"

#include <gtest/gtest.h>

namespace nines {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(s.code(), Status::Code::kOk);
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ErrorKeepsCodeAndMessage) {
  Status s = Status::Corruption("wal-1.log at offset 12: bad checksum");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.message(), "wal-1.log at offset 12: bad checksum");
  EXPECT_EQ(s.ToString(), "corruption: wal-1.log at offset 12: bad checksum");
  EXPECT_EQ(Status::InvalidArgument("port 0").ToString(), "invalid argument: port 0");
  EXPECT_EQ(Status::IoError("open x").ToString(), "I/O error: open x");
  EXPECT_EQ(Status::NoSpace("write x").ToString(), "no space left on device: write x");
  EXPECT_TRUE(Status::NotFound("k").IsNotFound());
}

}  // namespace
}  // namespace nines
