// app.toml parsing: the contract's example, defaults, and every mistake
// reported as FILE:LINE:COL: message.
#include "app/app_config.h"

#include <gtest/gtest.h>

namespace nines::app {
namespace {

std::string Errors(const std::string& text) {
  ConfigErrors errors;
  std::optional<AppConfig> c = ParseAppConfig(text, "app.toml", &errors);
  EXPECT_EQ(c.has_value(), errors.empty());
  return errors.ToString();
}

TEST(AppConfig, ContractExample) {
  ConfigErrors errors;
  std::optional<AppConfig> c = ParseAppConfig(R"(
name = "us-east-app-1"
region = "us-east"
listen = "127.0.1.11:8081"
store = ["127.0.1.21:6380", "127.0.2.21:6380", "127.0.3.21:6380"]
store_timeout_ms = 3000
drain_ms = 5000
max_connections = 1024
)",
                                              "app.toml", &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->name, "us-east-app-1");
  EXPECT_EQ(c->region, "us-east");
  EXPECT_EQ(c->listen.ToString(), "127.0.1.11:8081");
  ASSERT_EQ(c->store.size(), 3u);
  EXPECT_EQ(c->store[1].ToString(), "127.0.2.21:6380");
  EXPECT_EQ(c->store_timeout_ms, 3000);
  EXPECT_EQ(c->drain_ms, 5000);
  EXPECT_EQ(c->max_connections, 1024);
  EXPECT_EQ(c->max_body_bytes, 64 * 1024);
}

TEST(AppConfig, Defaults) {
  ConfigErrors errors;
  auto c = ParseAppConfig("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\n", "a", &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->name, "app");
  EXPECT_EQ(c->store_timeout_ms, 3000);
  EXPECT_EQ(c->drain_ms, 5000);
  EXPECT_EQ(c->drain_linger_ms, 0);
  EXPECT_EQ(c->idempotency_lease_ms, 1000);
  c = ParseAppConfig(
      "listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\nstore_timeout_ms = 800\n", "a",
      &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->idempotency_lease_ms, 400);
}

// A waiter gives up at three quarters of store_timeout_ms: the lease, the
// store's expiry tick (100 ms) and a poll must fit in that.
TEST(AppConfig, LeaseAWaiterOutlasts) {
  std::string e =
      Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\nidempotency_lease_ms = 3000\n");
  EXPECT_EQ(e.rfind("app.toml:3:24: 'idempotency_lease_ms' (3000) plus the store's expiry tick", 0),
            0u)
      << e;
  // 3000: 2250 ms of waiting; 2099 + 100 + 50 < 2250.
  EXPECT_EQ(MaxIdempotencyLeaseMs(3000), 2099);
  EXPECT_EQ(Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\n"
                   "idempotency_lease_ms = 2099\n"),
            "");
  e = Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\nidempotency_lease_ms = 2100\n");
  EXPECT_NE(e.find("at most 2099 with this store_timeout_ms"), std::string::npos) << e;
  // The default lease of a short store_timeout_ms is one that fits.
  ConfigErrors errors;
  auto c = ParseAppConfig(
      "listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\nstore_timeout_ms = 300\n", "a",
      &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->idempotency_lease_ms, MaxIdempotencyLeaseMs(300));
  EXPECT_LT(c->idempotency_lease_ms + kStoreExpiryTickMs + ClaimPollMs(c->idempotency_lease_ms),
            ClaimWaitMs(300));
  // Too short a store_timeout_ms for any lease: the error points at it.
  e = Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\nstore_timeout_ms = 150\n");
  EXPECT_EQ(e.rfind("app.toml:3:20: 'idempotency_lease_ms' (30)", 0), 0u) << e;
  EXPECT_NE(e.find("'store_timeout_ms' must be at least 181 for any lease"), std::string::npos)
      << e;
}

TEST(AppConfig, UnknownKeyHasLineAndColumn) {
  EXPECT_EQ(Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\n  colour = 1\n"),
            "app.toml:3:3: unknown key 'colour'");
}

TEST(AppConfig, MissingRequiredKeys) {
  std::string e = Errors("name = \"x\"\n");
  EXPECT_NE(e.find("missing required key 'listen'"), std::string::npos) << e;
  EXPECT_NE(e.find("missing required key 'store'"), std::string::npos) << e;
}

TEST(AppConfig, BadStoreAddressPointsAtTheItem) {
  std::string e = Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\", \"nope\"]\n");
  EXPECT_EQ(e.rfind("app.toml:2:25: 'store':", 0), 0u) << e;
}

TEST(AppConfig, EmptyStoreAndWrongTypes) {
  EXPECT_NE(Errors("listen = \"127.0.0.1:1\"\nstore = []\n").find("at least one member"),
            std::string::npos);
  std::string e =
      Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\ndrain_ms = \"5s\"\n");
  EXPECT_EQ(e.rfind("app.toml:3:", 0), 0u) << e;
  e = Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\nstore_timeout_ms = 5\n");
  EXPECT_NE(e.find("between 100 and"), std::string::npos) << e;
  e = Errors(
      "listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\ndrain_ms = 10\ndrain_linger_ms = 20\n");
  EXPECT_NE(e.find("must not exceed"), std::string::npos) << e;
}

TEST(AppConfig, SyntaxError) {
  std::string e = Errors("listen = \n");
  EXPECT_EQ(e.rfind("app.toml:1:", 0), 0u) << e;
}

TEST(AppConfig, StorePassword) {
  ConfigErrors errors;
  std::optional<AppConfig> c = ParseAppConfig(
      "listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\nstore_password = \"pw\"\n", "app.toml",
      &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->store_password, "pw");
  EXPECT_NE(Errors("listen = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\n"
                   "store_password_file = \"/no/such/file\"\n")
                .find("app.toml:3:"),
            std::string::npos);
}

}  // namespace
}  // namespace nines::app
