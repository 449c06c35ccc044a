// `nines dns` as a real process (NINES_BIN): acceptance 1 (answers, ECS
// scope, SOA, NS, NXDOMAIN, REFUSED, NOTIMP, TCP), acceptance 2 (failover to
// the nearest healthy region within interval*fall+timeout+1s and back),
// reload, several servers from one file, and bad configs exiting 2.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "dns/dns_constants.h"
#include "dns/name.h"
#include "dns_test_net.h"
#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::dns {
namespace {

using testing::DnsClient;
using testing::DnsTcpConnection;
using testing::HealthEndpoint;

constexpr int kIntervalMs = 300;
constexpr int kTimeoutMs = 200;
constexpr int kRise = 2;
constexpr int kFall = 2;
// Acceptance 2: a dead region's clients move within interval*fall+timeout+1s.
constexpr int kFailoverDeadlineMs = kIntervalMs * kFall + kTimeoutMs + 1000;
constexpr int kRecoverDeadlineMs = kIntervalMs * kRise + kTimeoutMs + 1000;

constexpr const char* kServerHost = "127.0.77.1";
constexpr const char* kClientHost = "127.0.79.9";  // belongs to eu-west by source address
const char* const kRegionNames[] = {"us-east", "us-west", "eu-west"};
const char* const kRegionHosts[] = {"127.0.71.1", "127.0.72.1", "127.0.73.1"};
constexpr const char* kAdminToken = "dns-admin-test-token";

std::string Wire(std::string_view text) {
  std::string w;
  NameFromText(text, &w);
  return w;
}

std::string A(const Record& r) {
  return fmt::format("{}.{}.{}.{}", r.rdata[0], r.rdata[1], r.rdata[2], r.rdata[3]);
}

std::vector<std::string> Addresses(const Message& m) {
  std::vector<std::string> out;
  for (const Record& r : m.answers) {
    if (r.type == kTypeA) out.push_back(A(r));
  }
  return out;
}

ClientSubnet Subnet(uint8_t a, uint8_t b, uint8_t c, uint8_t prefix) {
  ClientSubnet ecs;
  ecs.family = 1;
  ecs.source_prefix = prefix;
  ecs.address = {a, b, c};
  return ecs;
}

class DnsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::TestDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (int i = 0; i < 3; ++i) {
      endpoints_.push_back(std::make_unique<HealthEndpoint>(kRegionHosts[i]));
      ASSERT_TRUE(endpoints_.back()->Start()) << "cannot listen on " << kRegionHosts[i];
    }
    port_ = testing::FreePort(kServerHost);
    admin_port_ = testing::FreePort(kServerHost);
    ASSERT_NE(port_, 0);
    ASSERT_NE(admin_port_, 0);
    config_path_ = dir_ + "/dns.toml";
    test::WriteFile(dir_ + "/admin.token", std::string(kAdminToken) + "\n");
    test::WriteFile(config_path_, ConfigText(10));
    server_ = StartServer(port_, admin_port_, "server.log");
    ASSERT_TRUE(server_);
  }

  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(SIGTERM, 5000), 0) << server_->Log();
    }
  }

  std::string ConfigText(int ttl) const {
    std::string text = fmt::format(
        "listen = \"{}:{}\"\nadmin = \"{}:{}\"\nadmin_token_file = \"admin.token\"\n"
        "zone = \"shop.test.\"\nttl = {}\n"
        "names = [\"www\"]\ndefault_location = [51.5, -0.1]\n\n"
        "[health]\npath = \"/healthz\"\ninterval_ms = {}\ntimeout_ms = {}\nrise = {}\n"
        "fall = {}\n",
        kServerHost, port_, kServerHost, admin_port_, ttl, kIntervalMs, kTimeoutMs, kRise, kFall);
    const char* locations[] = {"[38.9, -77.0]", "[37.4, -122.1]", "[53.3, -6.3]"};
    const char* networks[] = {"[\"10.1.0.0/16\"]", "[\"10.2.0.0/16\"]",
                              "[\"10.3.0.0/16\", \"127.0.79.0/24\"]"};
    for (int i = 0; i < 3; ++i) {
      text += fmt::format(
          "\n[[region]]\nname = \"{}\"\nlocation = {}\naddresses = [\"{}\"]\ncheck_port = {}\n"
          "networks = {}\n",
          kRegionNames[i], locations[i], kRegionHosts[i], endpoints_[i]->port(), networks[i]);
    }
    text += fmt::format(
        "\n[[nameserver]]\nname = \"ns1\"\naddress = \"{}\"\n"
        "\n[[nameserver]]\nname = \"ns2\"\naddress = \"127.0.77.2\"\n",
        kServerHost);
    return text;
  }

  std::unique_ptr<test::ChildProcess> StartServer(uint16_t port, uint16_t admin_port,
                                                  const std::string& log) {
    auto child = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{test::NinesBinary(), "dns", "--config", config_path_, "--listen",
                                 fmt::format("{}:{}", kServerHost, port), "--admin",
                                 fmt::format("{}:{}", kServerHost, admin_port)},
        dir_ + "/" + log);
    DnsClient client(kClientHost, kServerHost, port);
    bool up = test::WaitUntil(
        [&] {
          return client.QueryUdp(BuildQuery(1, Wire("shop.test"), kTypeSoa, 0, nullptr), 100)
              .has_value();
        },
        10000);
    if (!up) {
      ADD_FAILURE() << "nines dns did not answer: " << child->Log();
      return nullptr;
    }
    return child;
  }

  std::optional<Message> Ask(std::string_view name, uint16_t type,
                             const ClientSubnet* ecs = nullptr, uint16_t edns = 1232) {
    DnsClient client(kClientHost, kServerHost, port_);
    return client.QueryUdp(BuildQuery(next_id_++, Wire(name), type, edns, ecs, true));
  }

  // The A answer for a client in 10.N.0.0/24.
  std::vector<std::string> AnswerFor(int region_number) {
    ClientSubnet ecs = Subnet(10, static_cast<uint8_t>(region_number), 0, 24);
    auto m = Ask("shop.test", kTypeA, &ecs);
    return m ? Addresses(*m) : std::vector<std::string>{};
  }

  std::string dir_;
  std::string config_path_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  uint16_t next_id_ = 100;
  std::vector<std::unique_ptr<HealthEndpoint>> endpoints_;
  std::unique_ptr<test::ChildProcess> server_;
};

TEST_F(DnsIntegrationTest, AnswersLikeAnAuthoritativeServer) {
  // The client's region by source address (127.0.79.0/24 is eu-west's).
  auto a = Ask("shop.test", kTypeA, nullptr, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rcode, kRcodeNoError);
  EXPECT_TRUE(a->flags & kFlagAa);
  EXPECT_TRUE(a->flags & kFlagRd);   // copied from the query
  EXPECT_FALSE(a->flags & kFlagRa);  // recursion is not offered
  EXPECT_EQ(Addresses(*a), std::vector<std::string>{"127.0.73.1"});
  EXPECT_EQ(a->answers[0].ttl, 10u);

  // Client Subnet: the region owning 10.2.0.0/16, scope echoed.
  ClientSubnet ecs = Subnet(10, 2, 0, 24);
  auto west = Ask("shop.test", kTypeA, &ecs);
  ASSERT_TRUE(west);
  EXPECT_EQ(Addresses(*west), std::vector<std::string>{"127.0.72.1"});
  ASSERT_TRUE(west->has_client_subnet);
  EXPECT_EQ(west->client_subnet.source_prefix, 24);
  EXPECT_EQ(west->client_subnet.scope_prefix, 16);
  auto www = Ask("www.shop.test", kTypeA, &ecs);
  ASSERT_TRUE(www);
  EXPECT_EQ(Addresses(*www), std::vector<std::string>{"127.0.72.1"});

  auto soa = Ask("shop.test", kTypeSoa);
  ASSERT_TRUE(soa);
  ASSERT_EQ(soa->answers.size(), 1u);
  EXPECT_EQ(soa->answers[0].type, kTypeSoa);
  EXPECT_EQ(NameToText(soa->answers[0].target), "ns1.shop.test.");

  auto ns = Ask("shop.test", kTypeNs);
  ASSERT_TRUE(ns);
  ASSERT_EQ(ns->answers.size(), 2u);
  EXPECT_EQ(NameToText(ns->answers[1].target), "ns2.shop.test.");
  EXPECT_EQ(ns->additional.size(), 2u);

  auto nx = Ask("nope.shop.test", kTypeA);
  ASSERT_TRUE(nx);
  EXPECT_EQ(nx->rcode, kRcodeNxDomain);
  ASSERT_EQ(nx->authority.size(), 1u);
  EXPECT_EQ(nx->authority[0].type, kTypeSoa);

  auto nodata = Ask("shop.test", kTypeCname);
  ASSERT_TRUE(nodata);
  EXPECT_EQ(nodata->rcode, kRcodeNoError);
  EXPECT_TRUE(nodata->answers.empty());
  EXPECT_EQ(nodata->authority.size(), 1u);

  auto refused = Ask("example.com", kTypeA);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->rcode, kRcodeRefused);

  std::vector<uint8_t> notify = BuildQuery(9, Wire("shop.test"), kTypeSoa, 0, nullptr);
  notify[2] |= 4 << 3;
  DnsClient client(kClientHost, kServerHost, port_);
  auto notimp = client.QueryUdp(notify);
  ASSERT_TRUE(notimp);
  EXPECT_EQ(notimp->rcode, kRcodeNotImp);

  // TCP: several queries on one connection.
  DnsTcpConnection tcp(kServerHost, port_);
  ASSERT_TRUE(tcp.connected());
  ClientSubnet east = Subnet(10, 1, 0, 24);
  auto t1 = tcp.Query(BuildQuery(21, Wire("shop.test"), kTypeA, 1232, &east));
  auto t2 = tcp.Query(BuildQuery(22, Wire("shop.test"), kTypeSoa, 0, nullptr));
  auto t3 = tcp.Query(BuildQuery(23, Wire("gone.shop.test"), kTypeA, 0, nullptr));
  ASSERT_TRUE(t1 && t2 && t3);
  EXPECT_EQ(t1->id, 21);
  EXPECT_EQ(Addresses(*t1), std::vector<std::string>{"127.0.71.1"});
  EXPECT_EQ(t2->answers.size(), 1u);
  EXPECT_EQ(t3->rcode, kRcodeNxDomain);

  // Admin: /status and /metrics.
  http::ClientResponse status = http::Get(kServerHost, admin_port_, "/status");
  ASSERT_EQ(status.status, 200) << status.error;
  auto json = nlohmann::json::parse(status.body);
  EXPECT_EQ(json["zone"], "shop.test.");
  ASSERT_EQ(json["regions"].size(), 3u);
  EXPECT_EQ(json["regions"][1]["name"], "us-west");
  EXPECT_EQ(json["regions"][1]["addresses"][0]["address"], "127.0.72.1");
  http::ClientResponse metrics = http::Get(kServerHost, admin_port_, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("nines_dns_queries_total{qtype=\"A\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("nines_dns_responses_total{rcode=\"NXDOMAIN\"} 2"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("nines_dns_answers_total{region=\"us-west\"} 2"), std::string::npos);
  // The admin listener is the project's SimpleServer: its accept counter, JSON errors.
  EXPECT_NE(
      metrics.body.find("nines_http_accept_errors_total{listen=\"" + std::string(kServerHost) +
                        ":" + std::to_string(admin_port_) + "\"} 0"),
      std::string::npos)
      << metrics.body;
  http::ClientResponse missing = http::Get(kServerHost, admin_port_, "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Header("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(missing.body, nullptr, false).value("error", ""),
            "not found: try /status, /metrics or POST /reload");
  http::ClientResponse post = http::Post(kServerHost, admin_port_, "/status", "");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("Allow"), "GET, HEAD");
  // Keep-alive: two requests on one connection.
  http::ClientConnection c;
  EXPECT_EQ(c.Request(kServerHost, admin_port_, "GET", "/status").status, 200);
  EXPECT_EQ(c.Request(kServerHost, admin_port_, "HEAD", "/metrics").status, 200);
}

TEST_F(DnsIntegrationTest, DeadRegionFailsOverToTheNearestHealthyRegionAndBack) {
  ASSERT_TRUE(test::WaitUntil(
      [&] { return AnswerFor(2) == std::vector<std::string>{"127.0.72.1"}; }, 5000));
  // Kill us-west's load balancer: its clients go to us-east (3,900 km), not
  // eu-west (8,200 km).
  int64_t killed_at = test::SteadyMs();
  endpoints_[1]->Stop();
  bool moved =
      test::WaitUntil([&] { return AnswerFor(2) == std::vector<std::string>{"127.0.71.1"}; },
                      kFailoverDeadlineMs, 50);
  int64_t failover_ms = test::SteadyMs() - killed_at;
  EXPECT_TRUE(moved) << "no failover within " << kFailoverDeadlineMs << " ms; answer now "
                     << ::testing::PrintToString(AnswerFor(2)) << "\n"
                     << server_->Log();
  std::cerr << "failover took " << failover_ms << " ms (deadline " << kFailoverDeadlineMs
            << " ms)\n";
  // Other regions' clients are unaffected.
  EXPECT_EQ(AnswerFor(3), std::vector<std::string>{"127.0.73.1"});

  // Restarted: back after `rise` passing checks.
  int64_t restarted_at = test::SteadyMs();
  ASSERT_TRUE(endpoints_[1]->Start());
  bool back =
      test::WaitUntil([&] { return AnswerFor(2) == std::vector<std::string>{"127.0.72.1"}; },
                      kRecoverDeadlineMs, 50);
  EXPECT_TRUE(back) << server_->Log();
  std::cerr << "recovery took " << test::SteadyMs() - restarted_at << " ms\n";

  http::ClientResponse metrics = http::Get(kServerHost, admin_port_, "/metrics");
  EXPECT_NE(metrics.body.find("nines_dns_failovers_total{from=\"us-west\",to=\"us-east\"}"),
            std::string::npos);
}

TEST_F(DnsIntegrationTest, EveryRegionDownFailsOpen) {
  for (auto& e : endpoints_) e->Stop();
  bool open = test::WaitUntil([&] { return AnswerFor(1).size() == 3; }, kFailoverDeadlineMs, 50);
  EXPECT_TRUE(open) << server_->Log();
  http::ClientResponse status = http::Get(kServerHost, admin_port_, "/status");
  EXPECT_EQ(nlohmann::json::parse(status.body)["fail_open"], true);
  http::ClientResponse metrics = http::Get(kServerHost, admin_port_, "/metrics");
  EXPECT_EQ(metrics.body.find("nines_dns_fail_open_total 0"), std::string::npos);
  EXPECT_TRUE(test::WaitUntil(
      [&] { return server_->Log().find("failing open") != std::string::npos; }, 2000));
  for (auto& e : endpoints_) ASSERT_TRUE(e->Start());
  EXPECT_TRUE(test::WaitUntil([&] { return AnswerFor(1).size() == 1; }, kRecoverDeadlineMs, 50));
}

TEST_F(DnsIntegrationTest, SighupReloadsAndRejectsBadConfigs) {
  auto before = Ask("shop.test", kTypeA);
  ASSERT_TRUE(before && !before->answers.empty());
  EXPECT_EQ(before->answers[0].ttl, 10u);
  // A bad config is rejected and the old one keeps serving.
  test::WriteFile(config_path_, ConfigText(10) + "bogus = 1\n");
  server_->Signal(SIGHUP);
  ASSERT_TRUE(test::WaitUntil(
      [&] { return server_->Log().find("reload rejected") != std::string::npos; }, 5000));
  EXPECT_NE(server_->Log().find("dns.toml:"), std::string::npos);
  auto still = Ask("shop.test", kTypeA);
  ASSERT_TRUE(still && !still->answers.empty());
  EXPECT_EQ(still->answers[0].ttl, 10u);
  // A good one takes effect.
  test::WriteFile(config_path_, ConfigText(42));
  server_->Signal(SIGHUP);
  EXPECT_TRUE(test::WaitUntil(
      [&] {
        auto m = Ask("shop.test", kTypeA);
        return m && !m->answers.empty() && m->answers[0].ttl == 42u;
      },
      5000));
}

// The admin API's one change, POST /reload: refused without the token, with a
// wrong one, as a form, cross-origin or under a foreign Host (the new TTL is
// not served, the generation does not move); done with the token.
TEST_F(DnsIntegrationTest, AdminReloadNeedsTheTokenJsonAndOwnHost) {
  auto generation = [&] {
    http::ClientResponse r = http::Get(kServerHost, admin_port_, "/status");
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("generation", uint64_t{0}) : uint64_t{0};
  };
  uint64_t before = generation();
  ASSERT_GT(before, 0u);
  test::WriteFile(config_path_, ConfigText(42));
  const std::string own_host =
      "Host: " + std::string(kServerHost) + ":" + std::to_string(admin_port_) + "\r\n";
  const std::string json = "Content-Type: application/json\r\n";
  const std::string bearer = std::string("Authorization: Bearer ") + kAdminToken + "\r\n";
  auto reload = [&](const std::string& headers) {
    return http::Exchange(kServerHost, admin_port_,
                          "POST /reload HTTP/1.1\r\n" + headers + "Content-Length: 0\r\n\r\n",
                          "POST");
  };
  struct Case {
    const char* what;
    std::string headers;
    int status;
  };
  const std::vector<Case> cases = {
      {"no token", own_host + json, 401},
      {"wrong token", own_host + json + "Authorization: Bearer dns-admin-test-tokeN\r\n", 401},
      {"a form post", own_host + "Content-Type: application/x-www-form-urlencoded\r\n" + bearer,
       415},
      {"cross-origin", own_host + json + bearer + "Origin: https://evil.example\r\n", 403},
      {"DNS-rebound Host",
       "Host: evil.example:" + std::to_string(admin_port_) + "\r\n" + json + bearer, 403},
  };
  for (const Case& c : cases) {
    http::ClientResponse r = reload(c.headers);
    ASSERT_TRUE(r.ok) << c.what << ": " << r.error;
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
    if (c.status == 401) {
      EXPECT_EQ(r.Header("WWW-Authenticate").rfind("Bearer", 0), 0u) << c.what;
    }
    EXPECT_EQ(generation(), before) << c.what << ": the refused reload was done";
    auto m = Ask("shop.test", kTypeA);
    ASSERT_TRUE(m && !m->answers.empty());
    EXPECT_EQ(m->answers[0].ttl, 10u) << c.what;
  }
  http::ClientResponse metrics = http::Get(kServerHost, admin_port_, "/metrics");
  EXPECT_NE(metrics.body.find("nines_dns_admin_refused_total " + std::to_string(cases.size())),
            std::string::npos)
      << metrics.body;
  http::ClientResponse r = reload(own_host + json + bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(generation(), before + 1);
  auto m = Ask("shop.test", kTypeA);
  ASSERT_TRUE(m && !m->answers.empty());
  EXPECT_EQ(m->answers[0].ttl, 42u);
}

TEST_F(DnsIntegrationTest, TwoServersFromOneConfigAnswerAlike) {
  uint16_t port2 = testing::FreePort(kServerHost);
  uint16_t admin2 = testing::FreePort(kServerHost);
  auto second = StartServer(port2, admin2, "second.log");
  ASSERT_TRUE(second);
  ClientSubnet ecs = Subnet(10, 1, 0, 24);
  DnsClient one(kClientHost, kServerHost, port_);
  DnsClient two(kClientHost, kServerHost, port2);
  auto a = one.QueryUdp(BuildQuery(5, Wire("shop.test"), kTypeA, 1232, &ecs));
  auto b = two.QueryUdp(BuildQuery(5, Wire("shop.test"), kTypeA, 1232, &ecs));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(Addresses(*a), Addresses(*b));
  auto soa_a = one.QueryUdp(BuildQuery(6, Wire("shop.test"), kTypeSoa, 0, nullptr));
  auto soa_b = two.QueryUdp(BuildQuery(6, Wire("shop.test"), kTypeSoa, 0, nullptr));
  ASSERT_TRUE(soa_a && soa_b);
  EXPECT_EQ(soa_a->answers[0].rdata, soa_b->answers[0].rdata);  // same serial
  EXPECT_EQ(second->Stop(SIGTERM, 5000), 0);
}

TEST(DnsCommandTest, BadConfigExitsTwoWithPositions) {
  std::string dir = test::TestDir("dns_bad_config");
  std::string path = dir + "/bad.toml";
  test::WriteFile(path,
                  "listen = \"127.0.0.1:5353\"\nzone = \"shop.test.\"\nttl = \"ten\"\n"
                  "[health]\n[[region]]\nname = \"a\"\nlocation = [1, 2]\naddresses = [\"x\"]\n");
  test::ChildProcess child({test::NinesBinary(), "dns", "--config", path}, dir + "/out.log");
  EXPECT_EQ(child.Wait(10000), 2);
  std::string log = child.Log();
  EXPECT_NE(log.find(path + ":3:7: 'ttl' must be an integer"), std::string::npos) << log;
  EXPECT_NE(log.find(path + ":8:13:"), std::string::npos) << log;

  test::ChildProcess help({test::NinesBinary(), "dns", "--help"}, dir + "/help.log");
  EXPECT_EQ(help.Wait(10000), 0);
  EXPECT_NE(help.Log().find("Usage: nines dns"), std::string::npos);

  test::ChildProcess check({test::NinesBinary(), "check", "--config", path}, dir + "/check.log");
  EXPECT_EQ(check.Wait(10000), 2);
  EXPECT_NE(check.Log().find(path + ":3:7:"), std::string::npos) << check.Log();
}

TEST_F(DnsIntegrationTest, AddressInUseExitsOne) {
  // A second server on the first one's address cannot bind: exit status 1.
  test::ChildProcess clash({test::NinesBinary(), "dns", "--config", config_path_, "--admin",
                            fmt::format("{}:{}", kServerHost, testing::FreePort(kServerHost))},
                           dir_ + "/clash.log");
  EXPECT_EQ(clash.Wait(10000), 1);
  EXPECT_NE(clash.Log().find("cannot bind UDP"), std::string::npos) << clash.Log();
}

}  // namespace
}  // namespace nines::dns
