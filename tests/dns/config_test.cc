// dns.toml: the DESIGN.md example parses; mistakes are FILE:LINE:COL errors.
#include "dns/config.h"

#include <gtest/gtest.h>

#include "dns/name.h"

namespace nines::dns {
namespace {

constexpr const char* kDesignExample = R"(listen = "127.0.0.1:5353"        # UDP and TCP
zone = "shop.test."
ttl = 10

[health]
path = "/healthz"
interval_ms = 1000
timeout_ms = 500
rise = 2
fall = 2

[[region]]
name = "us-east"
location = [38.9, -77.0]
addresses = ["127.0.1.1"]
check_port = 8080
networks = ["10.1.0.0/16"]
)";

std::string Errors(const std::string& text) {
  ConfigErrors errors;
  auto c = ParseDnsConfig(text, "dns.toml", &errors);
  EXPECT_EQ(c.has_value(), errors.empty());
  return errors.ToString();
}

TEST(DnsConfigTest, DesignExampleParses) {
  ConfigErrors errors;
  auto c = ParseDnsConfig(kDesignExample, "dns.toml", &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->listen.ToString(), "127.0.0.1:5353");
  EXPECT_EQ(c->admin.ToString(), kDefaultAdmin);
  EXPECT_EQ(NameToText(c->zone.apex), "shop.test.");
  EXPECT_EQ(c->zone.ttl, 10u);
  EXPECT_EQ(c->health.path, "/healthz");
  EXPECT_EQ(c->health.fall, 2);
  ASSERT_EQ(c->zone.policy.regions().size(), 1u);
  EXPECT_EQ(c->zone.policy.regions()[0].name, "us-east");
  EXPECT_EQ(c->check_ports[0], 8080);
  // Default name server: ns1.<zone> at the listen address.
  ASSERT_EQ(c->zone.nameservers.size(), 1u);
  EXPECT_EQ(NameToText(c->zone.nameservers[0].name), "ns1.shop.test.");
  EXPECT_EQ(c->zone.nameservers[0].address.ToString(), "127.0.0.1");
}

TEST(DnsConfigTest, OptionalKeys) {
  std::string text = std::string(kDesignExample) + R"(
[[nameserver]]
name = "ns1"
address = "127.0.0.1"

[[nameserver]]
name = "dns.elsewhere.example."
address = "127.0.0.2"
)";
  text =
      "admin = \"127.0.0.1:9999\"\nnames = [\"www\", \"api.shop.test.\"]\n"
      "default_location = [51.5, -0.1]\n" +
      text;
  ConfigErrors errors;
  auto c = ParseDnsConfig(text, "dns.toml", &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->admin.port, 9999);
  ASSERT_EQ(c->zone.policy_names.size(), 2u);
  EXPECT_EQ(NameToText(c->zone.policy_names[0]), "www.shop.test.");
  EXPECT_EQ(NameToText(c->zone.policy_names[1]), "api.shop.test.");
  ASSERT_EQ(c->zone.nameservers.size(), 2u);
  EXPECT_EQ(NameToText(c->zone.nameservers[1].name), "dns.elsewhere.example.");
  EXPECT_EQ(c->zone.policy.options().fallback_addresses, 0) << "off by default";
  EXPECT_FALSE(c->zone.policy.options().rotate);
}

TEST(DnsConfigTest, FallbackAddressesAndRotation) {
  ConfigErrors errors;
  auto c = ParseDnsConfig("fallback_addresses = 2\nrotate = true\n" + std::string(kDesignExample),
                          "dns.toml", &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->zone.policy.options().fallback_addresses, 2);
  EXPECT_TRUE(c->zone.policy.options().rotate);
  EXPECT_NE(Errors("fallback_addresses = 9\n" + std::string(kDesignExample)), "");
  EXPECT_NE(Errors("fallback_addresses = -1\n" + std::string(kDesignExample)), "");
  EXPECT_NE(Errors("rotate = 1\n" + std::string(kDesignExample)), "");
}

TEST(DnsConfigTest, UnknownKeysAndBadValuesAreReportedWithPositions) {
  std::string text = kDesignExample;
  text.replace(text.find("check_port = 8080"), 17, "check_prot = 8080");
  EXPECT_EQ(Errors(text), "dns.toml:16:1: unknown key 'region[0].check_prot'");

  std::string bad_net = kDesignExample;
  bad_net.replace(bad_net.find("10.1.0.0/16"), 11, "10.1.0.1/16");
  EXPECT_NE(Errors(bad_net).find("dns.toml:17:12: 'region[0].networks': bad network"),
            std::string::npos)
      << Errors(bad_net);

  std::string bad_location = kDesignExample;
  bad_location.replace(bad_location.find("[38.9, -77.0]"), 13, "[138.9, -77.0]");
  EXPECT_NE(Errors(bad_location).find("dns.toml:14:12: 'region[0].location'"), std::string::npos)
      << Errors(bad_location);

  std::string bad_timeout = kDesignExample;
  bad_timeout.replace(bad_timeout.find("timeout_ms = 500"), 16, "timeout_ms = 5000");
  EXPECT_NE(Errors(bad_timeout).find("dns.toml:8:14: 'health.timeout_ms' (5000) must not exceed"),
            std::string::npos)
      << Errors(bad_timeout);
}

TEST(DnsConfigTest, MissingPiecesAreErrors) {
  EXPECT_NE(Errors("zone = \"shop.test.\"\n[health]\n").find("missing required key 'listen'"),
            std::string::npos);
  EXPECT_NE(Errors("listen = \"127.0.0.1:53\"\nzone = \"shop.test.\"\n[health]\n")
                .find("at least one [[region]] is required"),
            std::string::npos);
  std::string duplicate = std::string(kDesignExample) +
                          "[[region]]\nname = \"us-east\"\nlocation = [1, 2]\n"
                          "addresses = [\"127.0.2.1\"]\n";
  EXPECT_NE(Errors(duplicate).find("used twice"), std::string::npos) << Errors(duplicate);
}

// An admin listener off loopback needs a token; the error points at `admin`.
TEST(DnsConfigTest, AdminOffLoopbackNeedsAToken) {
  EXPECT_EQ(Errors("admin = \"10.0.0.1:9953\"\n" + std::string(kDesignExample)),
            "dns.toml:1:9: 'admin' (10.0.0.1:9953) is not a loopback address: set "
            "'admin_token_file' (or 'admin_token') so that its changes need the token");
  ConfigErrors errors;
  auto c = ParseDnsConfig(
      "admin = \"10.0.0.1:9953\"\nadmin_token = \"t\"\n" + std::string(kDesignExample), "dns.toml",
      &errors);
  ASSERT_TRUE(c) << errors.ToString();
  EXPECT_EQ(c->admin_token, "t");
  EXPECT_EQ(Errors("admin = \"127.0.0.9:9953\"\n" + std::string(kDesignExample)), "")
      << "loopback needs no token";
}

TEST(DnsConfigTest, SerialIsStableForTheSameText) {
  ConfigErrors errors;
  auto a = ParseDnsConfig(kDesignExample, "a.toml", &errors);
  auto b = ParseDnsConfig(kDesignExample, "b.toml", &errors);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->zone.serial, b->zone.serial);
}

}  // namespace
}  // namespace nines::dns
