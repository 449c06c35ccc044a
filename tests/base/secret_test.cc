// Tests for src/base/secret: constant-time equality, secret files, HMAC-SHA256
// (RFC 4231 test case 2).
#include "base/secret.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

namespace nines {
namespace {

TEST(SecretEquals, ComparesContentAndLength) {
  EXPECT_TRUE(SecretEquals("s3cret", "s3cret"));
  EXPECT_TRUE(SecretEquals("", ""));
  EXPECT_FALSE(SecretEquals("s3cret", "s3creT"));
  EXPECT_FALSE(SecretEquals("s3cret", "s3cre"));
  EXPECT_FALSE(SecretEquals("s3cret", "s3cretx"));
  EXPECT_FALSE(SecretEquals("", "x"));
}

TEST(HmacSha256, MatchesRfc4231) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(RandomSecret, IsHexAndFresh) {
  std::string a = RandomSecret(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, RandomSecret(16));
}

TEST(ReadSecretFile, TrimsNewlineWarnsWhenOthersCanRead) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/nines_secret_test.txt";
  std::ofstream(path) << "hunter2\n";
  ::chmod(path.c_str(), 0644);
  std::string secret, warning;
  Status s = ReadSecretFile("nines_secret_test.txt", dir + "/x.toml", &secret, &warning);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(secret, "hunter2");
  EXPECT_NE(warning.find("readable"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  warning.clear();
  EXPECT_TRUE(ReadSecretFile(path, "", &secret, &warning).ok());
  EXPECT_EQ(warning, "");
  std::ofstream(path) << "\n";
  s = ReadSecretFile(path, "", &secret, &warning);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("empty"), std::string::npos);
  s = ReadSecretFile(dir + "/no-such-secret", "", &secret, &warning);
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("cannot read secret file"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace nines
