// SNI selection over several certificates, context building errors, and the ticket key ring.
#include "tls/server_context.h"

#include <gtest/gtest.h>

#include "support/process.h"
#include "support/test_tls.h"

namespace nines::tls {
namespace {

class ServerContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::TestDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ca_ = test::MakeTestCa(dir_);
    test::MakeTestLeaf(ca_, dir_ + "/a", {"a.test"});
    test::MakeTestLeaf(ca_, dir_ + "/b", {"b.test", "*.b.test"});
    test::MakeTestLeaf(ca_, dir_ + "/c", {"c.test", "*.shared.test"});
  }
  CertificateFiles Files(const std::string& base) {
    return {dir_ + "/" + base + ".pem", dir_ + "/" + base + ".key"};
  }
  std::string dir_;
  test::TestCa ca_;
};

TEST_F(ServerContextTest, SniPicksByExactNameThenWildcardElseTheFirst) {
  ServerOptions options;
  options.certificates = {Files("a"), Files("b"), Files("c")};
  std::string error;
  auto ctx = ServerContext::Build(options, nullptr, &error);
  ASSERT_TRUE(ctx) << error;
  EXPECT_EQ(ctx->Select("a.test"), 0u);
  EXPECT_EQ(ctx->Select("b.test"), 1u);
  EXPECT_EQ(ctx->Select("WWW.B.TEST"), 1u);
  EXPECT_EQ(ctx->Select("x.b.test."), 1u);
  EXPECT_EQ(ctx->Select("y.x.b.test"), 0u);  // a wildcard covers one label
  EXPECT_EQ(ctx->Select("api.shared.test"), 2u);
  EXPECT_EQ(ctx->Select("unknown.test"), 0u);
  EXPECT_EQ(ctx->Select(""), 0u);
  EXPECT_EQ(ctx->entries()[1].names, (std::vector<std::string>{"b.test", "*.b.test"}));
}

TEST_F(ServerContextTest, BadSettingsAreErrorsThatSayWhich) {
  std::string error;
  ServerOptions bad_cipher;
  bad_cipher.certificates = {Files("a")};
  bad_cipher.ciphers = "NOT-A-CIPHER";
  EXPECT_FALSE(ServerContext::Build(bad_cipher, nullptr, &error));
  EXPECT_NE(error.find("ciphers"), std::string::npos) << error;

  ServerOptions bad_version;
  bad_version.certificates = {Files("a")};
  bad_version.min_version = "1.0";
  EXPECT_FALSE(ServerContext::Build(bad_version, nullptr, &error));
  EXPECT_NE(error.find("min_version"), std::string::npos) << error;

  ServerOptions wrong_key;
  wrong_key.certificates = {{dir_ + "/a.pem", dir_ + "/b.key"}};
  EXPECT_FALSE(ServerContext::Build(wrong_key, nullptr, &error));
  EXPECT_NE(error.find("b.key"), std::string::npos) << error;
}

TEST(TicketKeys, OldKeysOpenTicketsUntilTheyLeaveTheRing) {
  TicketKeys keys(3);
  TicketKeys::Key first = keys.Current();
  TicketKeys::Key found;
  bool current = false;
  ASSERT_TRUE(keys.Find(first.name.data(), &found, &current));
  EXPECT_TRUE(current);
  keys.Rotate();
  EXPECT_EQ(keys.rotations(), 1u);
  ASSERT_TRUE(keys.Find(first.name.data(), &found, &current));
  EXPECT_FALSE(current);  // still opens, and the client gets a fresh ticket
  EXPECT_EQ(found.aes, first.aes);
  keys.Rotate();
  EXPECT_TRUE(keys.Find(first.name.data(), &found, &current));
  keys.Rotate();
  EXPECT_FALSE(keys.Find(first.name.data(), &found, &current));
}

}  // namespace
}  // namespace nines::tls
