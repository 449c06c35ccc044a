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
  std::shared_ptr<ServerContext> ctx;
  Status built = ServerContext::Build(options, nullptr, &ctx);
  ASSERT_TRUE(built.ok()) << built.ToString();
  ASSERT_TRUE(ctx);
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
  std::shared_ptr<ServerContext> ctx;
  ServerOptions bad_cipher;
  bad_cipher.certificates = {Files("a")};
  bad_cipher.ciphers = "NOT-A-CIPHER";
  Status s = ServerContext::Build(bad_cipher, nullptr, &ctx);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("ciphers"), std::string::npos) << s.ToString();
  EXPECT_FALSE(ctx);

  ServerOptions bad_version;
  bad_version.certificates = {Files("a")};
  bad_version.min_version = "1.0";
  s = ServerContext::Build(bad_version, nullptr, &ctx);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("min_version"), std::string::npos) << s.ToString();
  EXPECT_FALSE(ctx);

  ServerOptions wrong_key;
  wrong_key.certificates = {{dir_ + "/a.pem", dir_ + "/b.key"}};
  s = ServerContext::Build(wrong_key, nullptr, &ctx);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("b.key"), std::string::npos) << s.ToString();
  EXPECT_FALSE(ctx);
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
