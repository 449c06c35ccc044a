// Config loading: every error names FILE:LINE:COL, unknown keys and wrong
// types are caught, addresses and rates are validated.
#include "base/config.h"

#include <gtest/gtest.h>

namespace nines {
namespace {

struct Parsed {
  std::optional<ConfigValue> root;
  ConfigErrors errors;
};

Parsed Parse(const std::string& text) {
  Parsed p;
  p.root = ParseConfigText(text, "t.toml", &p.errors);
  return p;
}

TEST(ConfigTest, SyntaxErrorHasFileLineColumn) {
  Parsed p = Parse("a = 1\nb = \n");
  ASSERT_FALSE(p.root);
  ASSERT_EQ(p.errors.lines().size(), 1u);
  EXPECT_EQ(p.errors.lines()[0].rfind("t.toml:2:", 0), 0u) << p.errors.lines()[0];
}

TEST(ConfigTest, UnknownKeyReportedAtItsPosition) {
  Parsed p = Parse("listen = \"127.0.0.1:80\"\n  bogus = 3\n");
  ASSERT_TRUE(p.root);
  TableReader r(&*p.root, "t.toml", "", &p.errors);
  r.EndpointValue("listen", true);
  r.Finish();
  ASSERT_EQ(p.errors.lines().size(), 1u);
  EXPECT_EQ(p.errors.lines()[0], "t.toml:2:3: unknown key 'bogus'");
}

TEST(ConfigTest, WrongTypeNamesKeyAndTypes) {
  Parsed p = Parse("[health]\nrise = \"two\"\n");
  TableReader r(&*p.root, "t.toml", "", &p.errors);
  auto health = r.Table("health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->Integer("rise", 2, 1, 100), 2);
  EXPECT_EQ(p.errors.lines()[0], "t.toml:2:8: 'health.rise' must be an integer, not a string");
}

TEST(ConfigTest, RangeChecked) {
  Parsed p = Parse("retries = 99\n");
  TableReader r(&*p.root, "t.toml", "", &p.errors);
  EXPECT_EQ(r.Integer("retries", 2, 0, 10), 2);
  EXPECT_EQ(p.errors.lines()[0], "t.toml:1:11: 'retries' must be between 0 and 10, not 99");
}

TEST(ConfigTest, BadAddress) {
  Parsed p = Parse("listen = \"localhost:80\"\nadmin = \"127.0.0.1:99999\"\n");
  TableReader r(&*p.root, "t.toml", "", &p.errors);
  EXPECT_FALSE(r.EndpointValue("listen", true));
  EXPECT_FALSE(r.EndpointValue("admin", true));
  ASSERT_EQ(p.errors.lines().size(), 2u);
  EXPECT_NE(p.errors.lines()[0].find("t.toml:1:10: 'listen': bad address"), std::string::npos);
  EXPECT_NE(p.errors.lines()[1].find("port must be 1-65535"), std::string::npos);
}

TEST(ConfigTest, MissingRequiredKey) {
  Parsed p = Parse("[[server]]\nname = \"a\"\n");
  TableReader r(&*p.root, "t.toml", "", &p.errors);
  auto servers = r.TableArray("server");
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_FALSE(servers[0].EndpointValue("address", true));
  EXPECT_NE(p.errors.ToString().find("missing required key 'server[0].address'"),
            std::string::npos);
}

TEST(ConfigTest, Rates) {
  Rate r;
  EXPECT_TRUE(ParseRate("60/min", &r).ok());
  EXPECT_EQ(r.count, 60);
  EXPECT_EQ(r.window_seconds, 60);
  EXPECT_DOUBLE_EQ(r.PerSecond(), 1.0);
  EXPECT_TRUE(ParseRate("10000/s", &r).ok());
  EXPECT_EQ(r.window_seconds, 1);
  EXPECT_TRUE(ParseRate("5/h", &r).ok());
  EXPECT_EQ(r.window_seconds, 3600);
  EXPECT_FALSE(ParseRate("5/day", &r).ok());
  EXPECT_FALSE(ParseRate("-5/s", &r).ok());
  EXPECT_FALSE(ParseRate("five/s", &r).ok());
  EXPECT_FALSE(ParseRate("5", &r).ok());
}

TEST(ConfigTest, Endpoints) {
  Endpoint e;
  EXPECT_TRUE(ParseEndpoint("127.0.1.1:8080", &e).ok());
  EXPECT_EQ(e.host, "127.0.1.1");
  EXPECT_EQ(e.port, 8080);
  EXPECT_FALSE(ParseEndpoint("127.0.0.256:80", &e).ok());
  EXPECT_FALSE(ParseEndpoint("127.0.0.1", &e).ok());
  EXPECT_FALSE(ParseEndpoint("127.0.0.1:0", &e).ok());
  EXPECT_FALSE(ParseEndpoint("127.0.0.01:80", &e).ok());
  EXPECT_FALSE(ParseEndpoint("127.0.0.1:80x", &e).ok());
}

}  // namespace
}  // namespace nines
