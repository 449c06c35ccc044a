// blueprint.toml reading (errors as FILE:LINE:COL) and the configs `nines up`
// generates from a blueprint, checked with each part's own config reader.
#include "up/blueprint.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/app_config.h"
#include "dns/config.h"
#include "dns/dns_command.h"
#include "lb/lb_command.h"
#include "lb/lb_config.h"
#include "store/store_command.h"
#include "up/topology.h"

namespace nines::up {
namespace {

std::string ExamplePath() {
  const char* root = std::getenv("NINES_SOURCE_DIR");
  return std::string(root ? root : ".") + "/examples/blueprint.toml";
}

TEST(BlueprintTest, BuiltInMatchesDesign) {
  Blueprint bp = BuiltInBlueprint();
  ASSERT_EQ(bp.regions.size(), 3u);
  EXPECT_EQ(bp.regions[0].name, "us-east");
  EXPECT_EQ(bp.regions[1].name, "us-west");
  EXPECT_EQ(bp.regions[2].name, "eu-west");
  EXPECT_EQ(bp.regions[1].prefix, "127.0.2");
  EXPECT_EQ(bp.regions[2].networks, std::vector<std::string>{"10.3.0.0/16"});
  EXPECT_EQ(bp.zone, "shop.test.");
  EXPECT_EQ(bp.ttl, 5);
  ASSERT_EQ(bp.dns_servers.size(), 2u);
  EXPECT_EQ(bp.dns_servers[1].ToString(), "127.0.0.2:5353");
  EXPECT_EQ(bp.dashboard.ToString(), "127.0.0.1:9900");
}

TEST(BlueprintTest, ExampleFileEqualsBuiltIn) {
  ConfigErrors errors;
  std::optional<Blueprint> bp = ReadBlueprint(ExamplePath(), &errors);
  ASSERT_TRUE(bp) << errors.ToString();
  std::vector<NodeSpec> a = ExpandBlueprint(*bp, "/run");
  std::vector<NodeSpec> b = ExpandBlueprint(BuiltInBlueprint(), "/run");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].config_text, b[i].config_text) << a[i].name;
  }
}

TEST(BlueprintTest, ExpandsToDesignAddresses) {
  std::vector<NodeSpec> nodes = ExpandBlueprint(BuiltInBlueprint(), "/tmp/run");
  ASSERT_EQ(nodes.size(), 2u + 3u * 6u);  // per region: two lbs, three apps, a store member
  auto find = [&](const std::string& name) -> const NodeSpec& {
    for (const NodeSpec& n : nodes) {
      if (n.name == name) return n;
    }
    ADD_FAILURE() << "no node " << name;
    return nodes[0];
  };
  EXPECT_EQ(find("dns-2").address.ToString(), "127.0.0.2:5353");
  EXPECT_EQ(find("us-west-lb-1").address.ToString(), "127.0.2.1:8080");
  EXPECT_EQ(find("us-west-lb-1").admin.ToString(), "127.0.2.1:9901");
  EXPECT_EQ(find("us-west-lb-2").address.ToString(), "127.0.2.2:8080");
  EXPECT_EQ(find("us-west-lb-2").admin.ToString(), "127.0.2.2:9901");
  EXPECT_EQ(find("eu-west-app-3").address.ToString(), "127.0.3.13:8081");
  EXPECT_EQ(find("us-east-store").address.ToString(), "127.0.1.21:6380");
  EXPECT_EQ(find("us-east-store").admin.ToString(), "127.0.1.21:7380");
  EXPECT_EQ(find("us-east-store").store_id, "us-east");
  EXPECT_EQ(find("us-east-store").config_path, "/tmp/run/conf/us-east-store.toml");
  // The lb balances over its own apps and keeps the other regions' as backups.
  const std::string& lb = find("us-west-lb-1").config_text;
  EXPECT_NE(lb.find("name = \"us-west-app-1\"\naddress = \"127.0.2.11:8081\"\n\n"),
            std::string::npos)
      << lb;
  EXPECT_NE(lb.find("name = \"eu-west-app-2\"\naddress = \"127.0.3.12:8081\"\nbackup = true"),
            std::string::npos)
      << lb;
  EXPECT_NE(lb.find("per_client = \"50/s\""), std::string::npos);
  // Both lbs of a region have the same servers; every lb of the blueprint
  // shares the one global limit as a [cluster] peer.
  const std::string& lb2 = find("us-west-lb-2").config_text;
  EXPECT_EQ(lb.substr(lb.find("[[server]]")), lb2.substr(lb2.find("[[server]]")));
  const std::string peers =
      "peers = [\"127.0.1.1:9902\", \"127.0.1.2:9902\", \"127.0.2.1:9902\", \"127.0.2.2:9902\", "
      "\"127.0.3.1:9902\", \"127.0.3.2:9902\"]";
  EXPECT_NE(lb.find("[cluster]\nid = \"us-west-lb-1\"\nbind = \"127.0.2.1:9902\"\n" + peers),
            std::string::npos)
      << lb;
  EXPECT_NE(lb2.find("[cluster]\nid = \"us-west-lb-2\"\nbind = \"127.0.2.2:9902\"\n" + peers),
            std::string::npos)
      << lb2;
  // Their rate-limit reports are signed (a spoofed datagram changes nothing).
  EXPECT_NE(lb.find(peers + "\nkey_file = \"lb-cluster.key\"\n"), std::string::npos) << lb;
  // Apps list their own region's store member first, then the nearest.
  const std::string& app = find("eu-west-app-1").config_text;
  EXPECT_NE(app.find("store = [\"127.0.3.21:6380\", \"127.0.1.21:6380\", \"127.0.2.21:6380\"]"),
            std::string::npos)
      << app;
  const std::string& dns = find("dns-1").config_text;
  EXPECT_NE(dns.find("networks = [\"10.2.0.0/16\"]"), std::string::npos) << dns;
  // DNS answers with both of a region's lbs (each checked on its own).
  EXPECT_NE(dns.find("addresses = [\"127.0.3.1\", \"127.0.3.2\"]"), std::string::npos) << dns;
}

// A client keeps its DNS answer for the TTL. When the region the
// answer names stops, the answer must still hold a live address: the
// blueprint's DNS lists the nearest region's lbs, then the next-nearest
// region's lbs as fallbacks (a stub resolver tries the addresses in order).
TEST(BlueprintTest, DnsAnswersListTheNextNearestRegionAsFallback) {
  // The dns configs name the admin token file: it must exist.
  std::string dir = ::testing::TempDir() + "up_blueprint_fallback";
  std::filesystem::create_directories(dir + "/conf");
  ASSERT_EQ(WriteBlueprintSecrets(dir).ToString(), "ok");
  for (const NodeSpec& n : ExpandBlueprint(BuiltInBlueprint(), dir)) {
    if (n.kind != NodeKind::kDns) continue;
    ConfigErrors errors;
    std::optional<dns::DnsConfig> c = dns::ParseDnsConfig(n.config_text, n.config_path, &errors);
    ASSERT_TRUE(c) << errors.ToString();
    const dns::AnswerPolicy& policy = c->zone.policy;
    std::vector<std::atomic<bool>> up(policy.address_count());
    for (std::atomic<bool>& flag : up) flag = true;
    dns::IpAddress client;
    ASSERT_TRUE(dns::ParseIpAddress("10.1.0.1", &client));
    dns::PolicyAnswer a;
    policy.Choose(client, 4, dns::HealthFlags(up.data(), up.size()), &a);
    ASSERT_EQ(a.addresses.size(), 4u) << n.name;
    EXPECT_EQ(policy.RegionOfAddress(a.addresses[0]), 0);
    EXPECT_EQ(policy.RegionOfAddress(a.addresses[1]), 0);
    EXPECT_EQ(policy.RegionOfAddress(a.addresses[2]), 1) << "us-west is nearest to us-east";
    EXPECT_EQ(policy.RegionOfAddress(a.addresses[3]), 1);
    // DNS checks each lb's own /healthz on its admin port. Through
    // the traffic port the check waited in the queue of an lb shedding a
    // crowd, got its 503 and moved the region (and the crowd) to the next
    // one: a cascade. An lb that sheds load is not down.
    EXPECT_EQ(c->check_ports, (std::vector<int>{9901, 9901, 9901})) << n.config_text;
  }
}

TEST(BlueprintTest, CustomCountsAndNames) {
  ConfigErrors errors;
  std::optional<Blueprint> bp = ParseBlueprintText(R"(
dashboard = "127.0.0.1:9911"
[dns]
servers = ["127.0.0.1:5354"]
zone = "example.test."
[rate_limit]
per_client = "5/s"
[[region]]
name = "a"
location = [0, 0]
prefix = "127.0.8"
lbs = 2
apps = 1
stores = 3
)",
                                                   "bp.toml", &errors);
  ASSERT_TRUE(bp) << errors.ToString();
  std::vector<NodeSpec> nodes = ExpandBlueprint(*bp, "/r");
  std::vector<std::string> names;
  for (const NodeSpec& n : nodes) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"dns-1", "a-lb-1", "a-lb-2", "a-app-1", "a-store-1",
                                             "a-store-2", "a-store-3"}));
  EXPECT_EQ(nodes[2].address.ToString(), "127.0.8.2:8080");
  EXPECT_EQ(nodes[6].address.ToString(), "127.0.8.23:6380");
  EXPECT_EQ(nodes[6].store_id, "a-3");
  EXPECT_EQ(bp->regions[0].networks, std::vector<std::string>{"10.1.0.0/16"});
  EXPECT_EQ(bp->dashboard.port, 9911);
}

void ExpectError(const std::string& text, const std::string& expected) {
  ConfigErrors errors;
  std::optional<Blueprint> bp = ParseBlueprintText(text, "bp.toml", &errors);
  EXPECT_FALSE(bp);
  EXPECT_NE(errors.ToString().find(expected), std::string::npos)
      << "expected '" << expected << "' in:\n"
      << errors.ToString();
}

TEST(BlueprintTest, ErrorsNameFileLineAndColumn) {
  ExpectError("", "bp.toml:");
  ExpectError("", "at least one [[region]]");
  ExpectError("[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"10.0.1\"\n",
              "bp.toml:4:10: 'prefix' must be three numbers inside 127.0.0.0/8");
  ExpectError("[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\napps = 10\n",
              "bp.toml:5:");
  ExpectError("[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\nstores = 0\n",
              "at least one store member");
  ExpectError("[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\nbogus = 1\n",
              "bogus");
  ExpectError(
      "[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\n"
      "[[region]]\nname = \"a\"\nlocation = [1, 1]\nprefix = \"127.0.2\"\n",
      "bp.toml:6:8: region 'a' is defined twice");
  ExpectError("[[region]]\nname = \"a\"\nlocation = [100, 0]\nprefix = \"127.0.1\"\n",
              "bp.toml:3:");
  ExpectError("[rate_limit]\nper_client = \"fast\"\n", "bp.toml:2:");
  ExpectError("[[region]\n", "bp.toml:1:");
}

// Every generated lb, store and dns config passes that part's own checker.
TEST(BlueprintTest, GeneratedConfigsAreValid) {
  std::string dir = ::testing::TempDir() + "up_blueprint_configs";
  std::filesystem::create_directories(dir + "/conf");
  ASSERT_EQ(WriteBlueprintSecrets(dir).ToString(), "ok");
  for (const NodeSpec& n : ExpandBlueprint(BuiltInBlueprint(), dir)) {
    std::ofstream(n.config_path) << n.config_text;
    Status s;
    if (n.kind == NodeKind::kLb) s = CheckLbConfig(n.config_path);
    if (n.kind == NodeKind::kStore) s = CheckStoreConfig(n.config_path);
    if (n.kind == NodeKind::kDns) s = CheckDnsConfig(n.config_path);
    EXPECT_EQ(s.ToString(), "ok") << n.name << ":\n" << n.config_text;
    if (n.kind == NodeKind::kLb) {
      // A slow app (a gray failure) is ejected on its time to first byte.
      ConfigErrors errors;
      std::optional<lb::LbConfig> lb = lb::ReadLbConfig(n.config_path, &errors);
      ASSERT_TRUE(lb.has_value()) << n.name;
      EXPECT_EQ(lb->outlier.latency_ms, 100) << n.name;
    }
  }
}

// The blueprint's store needs its password and its peers a cluster
// secret, its admin listeners a token; the secrets are random, private
// (0600) and kept across runs.
TEST(BlueprintTest, StoreIsProtectedBySecrets) {
  std::string dir = ::testing::TempDir() + "up_blueprint_secrets";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/conf");
  ASSERT_EQ(WriteBlueprintSecrets(dir).ToString(), "ok");
  auto read = [&](const char* name) {
    std::ifstream in(dir + "/conf/" + name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  std::string password = read(kStorePasswordFile);
  EXPECT_EQ(password.size(), 65u) << "32 random bytes in hex and a newline";
  EXPECT_NE(password, read(kClusterSecretFile));
  EXPECT_EQ(read("lb-cluster.key").size(), 65u) << "the lbs' report key";
  EXPECT_NE(read("lb-cluster.key"), read(kClusterSecretFile));
  auto perms = std::filesystem::status(dir + "/conf/" + kStorePasswordFile).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  ASSERT_EQ(WriteBlueprintSecrets(dir).ToString(), "ok");
  EXPECT_EQ(read(kStorePasswordFile), password) << "a second start replaced the password";
  for (const NodeSpec& n : ExpandBlueprint(BuiltInBlueprint(), dir)) {
    if (n.kind == NodeKind::kStore) {
      EXPECT_NE(n.config_text.find("requirepass_file = \"store.password\""), std::string::npos);
      EXPECT_NE(n.config_text.find("cluster_secret_file = "), std::string::npos);
    }
    if (n.kind == NodeKind::kApp) {
      EXPECT_NE(n.config_text.find("store_password_file = \"store.password\""), std::string::npos);
    }
    if (n.kind == NodeKind::kLb || n.kind == NodeKind::kDns) {
      EXPECT_NE(n.config_text.find("admin_token_file = \"admin.token\""), std::string::npos)
          << n.name << ": its admin listener takes no token";
    }
  }
  // The admin token of the dashboard and every admin listener.
  std::string token = read(kAdminTokenFile);
  EXPECT_EQ(token.size(), 65u);
  EXPECT_NE(token, password);
  EXPECT_EQ(std::filesystem::status(dir + "/conf/" + kAdminTokenFile).permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

TEST(BlueprintTest, DistanceIsGreatCircle) {
  // Washington to Dublin is about 5,450 km.
  double km = DistanceKm(38.9, -77.0, 53.3, -6.3);
  EXPECT_GT(km, 5300);
  EXPECT_LT(km, 5600);
  EXPECT_EQ(DistanceKm(1, 2, 1, 2), 0);
}

// Bug 6: an app of the blueprint drains at least as long as one request
// may wait for the store, so SIGTERM never cuts a request short.
TEST(BlueprintTest, AppsDrainLongerThanTheirStoreTimeout) {
  std::string dir = ::testing::TempDir() + "up_blueprint_apps";
  std::filesystem::create_directories(dir + "/conf");
  ASSERT_EQ(WriteBlueprintSecrets(dir).ToString(), "ok");  // the apps read the store password
  for (const NodeSpec& n : ExpandBlueprint(BuiltInBlueprint(), dir)) {
    if (n.kind != NodeKind::kApp) continue;
    ConfigErrors errors;
    std::optional<app::AppConfig> c = app::ParseAppConfig(n.config_text, n.config_path, &errors);
    ASSERT_TRUE(c) << errors.ToString();
    EXPECT_GE(c->drain_ms, c->store_timeout_ms) << n.name;
    EXPECT_GT(c->drain_linger_ms, 0) << n.name;
  }
}

// Bug 8: generated ids and addresses that collide are errors, not crash loops.
TEST(BlueprintTest, GeneratedIdsAndAddressesMustNotCollide) {
  // Region "us" with two stores makes store ids us-1 and us-2; region "us-1" makes us-1.
  ExpectError(
      "[[region]]\nname = \"us\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\nstores = 2\n"
      "[[region]]\nname = \"us-1\"\nlocation = [1, 1]\nprefix = \"127.0.2\"\n",
      "store member id 'us-1'");
  // A DNS server on the second load balancer's rate-limit cluster port.
  ExpectError(
      "[dns]\nservers = [\"127.0.1.2:9902\"]\n"
      "[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\n",
      "address 127.0.1.2:9902 is used twice: by dns-1 and by a-lb-2 (rate-limit cluster)");
  // A DNS server on a load balancer's address.
  ExpectError(
      "[dns]\nservers = [\"127.0.1.1:8080\"]\n"
      "[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\n",
      "127.0.1.1:8080");
  // The dashboard on an app's address.
  ExpectError(
      "dashboard = \"127.0.1.11:8081\"\n"
      "[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\n",
      "127.0.1.11:8081");
  // DNS admin port equal to the DNS port on the same host.
  ExpectError(
      "[dns]\nservers = [\"127.0.0.9:5353\"]\nadmin_port = 5353\n"
      "[[region]]\nname = \"a\"\nlocation = [0, 0]\nprefix = \"127.0.1\"\n",
      "127.0.0.9:5353");
}

// Bug 8: a dashboard reachable from other machines is worth a warning.
TEST(BlueprintTest, WarnsOnANonLoopbackDashboard) {
  Blueprint bp = BuiltInBlueprint();
  EXPECT_TRUE(BlueprintWarnings(bp).empty());
  bp.dashboard = Endpoint{"0.0.0.0", 9900};
  std::vector<std::string> warnings = BlueprintWarnings(bp);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("0.0.0.0:9900"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace nines::up
