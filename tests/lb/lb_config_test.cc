// lb.toml validation: every mistake is reported with FILE:LINE:COL.
#include "lb/lb_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "lb/lb_command.h"

namespace nines::lb {
namespace {

std::string Check(const std::string& text) {
  std::string path = testing::TempDir() + "lb_config_test.toml";
  std::ofstream(path) << text;
  std::string errors = CheckLbConfig(path).message();
  std::remove(path.c_str());
  // Make messages independent of the temp dir.
  size_t at;
  while ((at = errors.find(path)) != std::string::npos) errors.replace(at, path.size(), "lb.toml");
  return errors;
}

const char* kValid = R"(listen = "127.0.0.1:8080"
admin = "127.0.0.1:9901"
balance = "round_robin"
retries = 2
[health]
path = "/healthz"
interval_ms = 1000
timeout_ms = 500
rise = 2
fall = 2
[[server]]
name = "a"
address = "127.0.0.1:9001"
[[server]]
name = "b"
address = "127.0.0.1:9002"
backup = true
)";

TEST(LbConfigTest, ExampleIsValid) {
  EXPECT_EQ(Check(kValid), "");
}

// [cluster] key_file: read relative to lb.toml; a missing file is an error at the key.
TEST(LbConfigTest, ClusterKeyFile) {
  std::string cluster =
      "[rate_limit]\nglobal = \"100/s\"\n[cluster]\nbind = \"127.0.0.1:9902\"\n"
      "peers = [\"127.0.0.1:9902\", \"127.0.0.2:9902\"]\n";
  std::string error = Check(std::string(kValid) + cluster + "key_file = \"no-such.key\"\n");
  EXPECT_NE(error.find("lb.toml:23:"), std::string::npos) << error;
  EXPECT_NE(error.find("cluster.key_file"), std::string::npos) << error;
  std::string key = testing::TempDir() + "lb_config_cluster.key";
  std::ofstream(key) << "k3y\n";
  std::string path = testing::TempDir() + "lb_config_cluster.toml";
  std::ofstream(path) << kValid << cluster << "key_file = \"lb_config_cluster.key\"\n";
  ConfigErrors errors;
  std::optional<LbConfig> config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config) << errors.ToString();
  ASSERT_TRUE(config->cluster);
  EXPECT_EQ(config->cluster->key, "k3y");
  std::remove(path.c_str());
  std::remove(key.c_str());
}

// An admin listener off loopback needs a token; the error points at `admin`.
TEST(LbConfigTest, AdminOffLoopbackNeedsAToken) {
  std::string text = kValid;
  text.replace(text.find("127.0.0.1:9901"), 14, "0.0.0.0:9901");
  EXPECT_EQ(Check(text),
            "lb.toml:2:9: 'admin' (0.0.0.0:9901) is not a loopback address: set "
            "'admin_token_file' (or 'admin_token') so that its changes need the token");
  EXPECT_EQ(Check("admin_token = \"s3cret\"\n" + text), "");
  EXPECT_EQ(Check("admin_token = \"\"\n" + std::string(kValid)),
            "lb.toml:1:15: 'admin_token' must not be empty");
}

// admin_token_file: read relative to lb.toml, trailing newline dropped; a
// missing file is an error at the key; both keys at once are an error.
TEST(LbConfigTest, AdminTokenFile) {
  std::string token = testing::TempDir() + "lb_config_admin.token";
  std::ofstream(token) << "t0ken\n";
  std::string path = testing::TempDir() + "lb_config_admin.toml";
  std::ofstream(path) << "admin_token_file = \"lb_config_admin.token\"\n" << kValid;
  ConfigErrors errors;
  std::optional<LbConfig> config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config) << errors.ToString();
  EXPECT_EQ(config->admin_token, "t0ken");
  std::remove(path.c_str());
  std::remove(token.c_str());
  std::string error = Check("admin_token_file = \"no-such.token\"\n" + std::string(kValid));
  EXPECT_EQ(error.rfind("lb.toml:1:20: admin_token_file: cannot read secret file", 0), 0u) << error;
  error =
      Check("admin_token = \"a\"\nadmin_token_file = \"no-such.token\"\n" + std::string(kValid));
  EXPECT_NE(error.find("lb.toml:2:20: set 'admin_token' or 'admin_token_file', not both"),
            std::string::npos)
      << error;
}

TEST(LbConfigTest, PanicThreshold) {
  std::string path = testing::TempDir() + "lb_config_panic.toml";
  std::ofstream(path) << kValid << "[outlier]\npanic_threshold = 30\n";
  ConfigErrors errors;
  std::optional<LbConfig> config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->outlier.panic_threshold, 30);
  std::ofstream(path) << kValid << "[outlier]\npanic_threshold = 101\n";
  EXPECT_FALSE(ReadLbConfig(path, &errors).has_value());
  std::remove(path.c_str());
}

// [outlier] latency_ms: off (0) by default; the factor and the sample count are bounded.
TEST(LbConfigTest, OutlierLatency) {
  std::string path = testing::TempDir() + "lb_config_latency.toml";
  std::ofstream(path) << kValid;
  ConfigErrors errors;
  std::optional<LbConfig> config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->outlier.latency_ms, 0);
  std::ofstream(path)
      << kValid << "[outlier]\nlatency_ms = 250\nlatency_factor = 4\nlatency_min_samples = 5\n";
  config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->outlier.latency_ms, 250);
  EXPECT_EQ(config->outlier.latency_factor, 4);
  EXPECT_EQ(config->outlier.latency_min_samples, 5);
  std::remove(path.c_str());
  std::string error = Check(std::string(kValid) + "[outlier]\nlatency_ms = -1\n");
  EXPECT_NE(error.find("lb.toml:19:14:"), std::string::npos) << error;
  error = Check(std::string(kValid) + "[outlier]\nlatency_factor = 0\n");
  EXPECT_NE(error.find("lb.toml:19:18:"), std::string::npos) << error;
}

// idempotency_key_header: off by default; a header name (a token) turns it on.
TEST(LbConfigTest, IdempotencyKeyHeader) {
  std::string path = testing::TempDir() + "lb_config_idem.toml";
  std::ofstream(path) << kValid;
  ConfigErrors errors;
  std::optional<LbConfig> config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->idempotency_key_header, "");
  std::ofstream(path) << "idempotency_key_header = \"Idempotency-Key\"\n" << kValid;
  config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config.has_value()) << errors.ToString();
  EXPECT_EQ(config->idempotency_key_header, "Idempotency-Key");
  std::remove(path.c_str());
  EXPECT_EQ(Check("idempotency_key_header = \"Idempotency Key\"\n" + std::string(kValid)),
            "lb.toml:1:26: 'idempotency_key_header' must be a header name (letters, digits and "
            "!#$%&'*+-.^_`|~)");
  EXPECT_NE(Check("idempotency_key_header = \"Connection\"\n" + std::string(kValid))
                .find("cannot be a hop-by-hop header"),
            std::string::npos);
}

TEST(LbConfigTest, H2) {
  std::string path = testing::TempDir() + "lb_config_h2.toml";
  std::ofstream(path) << kValid;
  ConfigErrors errors;
  std::optional<LbConfig> config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config.has_value());
  EXPECT_FALSE(config->h2.listen);  // no [h2]: HTTP/2 off, defaults kept for TLS
  EXPECT_FALSE(config->h2.alpn);    // and not offered on the [tls] listener
  EXPECT_EQ(config->h2.limits.max_concurrent_streams, 100u);
  EXPECT_EQ(config->h2.limits.max_resets, 100u);
  std::ofstream(path) << kValid
                      << "[h2]\nlisten = \"127.0.0.1:8082\"\nmax_concurrent_streams = 10\n"
                         "initial_window_size = 1000000\nmax_header_list_size = 8192\n"
                         "max_continuations = 4\nmax_resets = 50\nreset_window_ms = 500\n";
  config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config.has_value()) << errors.ToString();
  ASSERT_TRUE(config->h2.listen);
  EXPECT_EQ(config->h2.listen->ToString(), "127.0.0.1:8082");
  EXPECT_EQ(config->h2.limits.max_concurrent_streams, 10u);
  EXPECT_EQ(config->h2.limits.initial_window_size, 1000000u);
  EXPECT_EQ(config->h2.limits.connection_window_size, 10000000u);  // streams x window
  EXPECT_EQ(config->h2.limits.max_header_list_size, 8192u);
  EXPECT_EQ(config->h2.limits.max_continuations, 4u);
  EXPECT_EQ(config->h2.limits.max_resets, 50u);
  EXPECT_EQ(config->h2.limits.reset_window_ms, 500u);
  EXPECT_TRUE(config->h2.alpn);  // [h2] present: h2 offered by ALPN too
  std::ofstream(path) << kValid << "[h2]\nalpn = false\n";
  config = ReadLbConfig(path, &errors);
  ASSERT_TRUE(config.has_value()) << errors.ToString();
  EXPECT_FALSE(config->h2.listen);
  EXPECT_FALSE(config->h2.alpn);
  std::remove(path.c_str());
  EXPECT_NE(Check(std::string(kValid) + "[h2]\nlisten = \"127.0.0.1:8080\"\n").find("must differ"),
            std::string::npos);
  EXPECT_NE(Check(std::string(kValid) + "[h2]\nmax_concurrent_streams = 0\n")
                .find("h2.max_concurrent_streams"),
            std::string::npos);
  EXPECT_NE(
      Check(std::string(kValid) + "[h2]\nmax_resetz = 1\n").find("unknown key 'h2.max_resetz'"),
      std::string::npos);
}

TEST(LbConfigTest, UnknownKey) {
  EXPECT_EQ(Check("colour = 1\n" + std::string(kValid)), "lb.toml:1:1: unknown key 'colour'");
}

TEST(LbConfigTest, UnknownKeyInTable) {
  std::string text = kValid;
  text.replace(text.find("rise = 2"), 8, "rize = 2");
  EXPECT_EQ(Check(text), "lb.toml:9:1: unknown key 'health.rize'");
}

TEST(LbConfigTest, WrongType) {
  std::string text = kValid;
  text.replace(text.find("retries = 2"), 11, "retries = \"2\"");
  EXPECT_EQ(Check(text), "lb.toml:4:11: 'retries' must be an integer, not a string");
}

TEST(LbConfigTest, BadAddress) {
  std::string text = kValid;
  text.replace(text.find("127.0.0.1:9002"), 14, "127.0.0.1:99999");
  EXPECT_EQ(Check(text),
            "lb.toml:16:11: 'server[1].address': bad address \"127.0.0.1:99999\": port must be "
            "1-65535");
}

TEST(LbConfigTest, BadBalance) {
  std::string text = kValid;
  text.replace(text.find("round_robin"), 11, "random");
  EXPECT_NE(Check(text).find("lb.toml:3:11: 'balance' must be round_robin"), std::string::npos);
}

TEST(LbConfigTest, DuplicateServerAndMissingAddress) {
  std::string text = std::string(kValid) + "[[server]]\nname = \"a\"\n";
  std::string errors = Check(text);
  EXPECT_NE(errors.find("lb.toml:19:8: duplicate server name \"a\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("missing required key 'server[2].address'"), std::string::npos) << errors;
}

TEST(LbConfigTest, TimeoutLongerThanInterval) {
  std::string text = kValid;
  text.replace(text.find("timeout_ms = 500"), 16, "timeout_ms = 5000");
  EXPECT_NE(Check(text).find("lb.toml:8:14: 'health.timeout_ms' (5000) must not exceed"),
            std::string::npos);
}

TEST(LbConfigTest, HashHeaderNeedsName) {
  std::string text = kValid;
  text.replace(text.find("\"round_robin\""), 13, "\"hash_header:\"");
  EXPECT_NE(Check(text).find("hash_header needs a header name"), std::string::npos);
}

TEST(LbConfigTest, SyntaxError) {
  EXPECT_EQ(Check("listen = \n").rfind("lb.toml:1:", 0), 0u);
}

}  // namespace
}  // namespace nines::lb
