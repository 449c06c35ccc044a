// The lb's admin API under attack: a change (POST /servers/NAME/drain) without
// the admin token, with a wrong one, as a form, from another origin or under
// a foreign Host is refused and the server keeps serving; with the token,
// JSON and its own Host the drain is done. Reads stay open.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "lb/lb_fixture.h"

namespace nines::test {
namespace {

using Lb = LbFixture;

constexpr const char* kToken = "lb-admin-test-token";

struct Case {
  const char* what;
  std::string headers;  // header lines of the POST
  int status;
};

TEST_F(Lb, AdminChangesNeedTheTokenJsonAndOwnHost) {
  WriteFile(dir_ + "/admin.token", std::string(kToken) + "\n");
  ::chmod((dir_ + "/admin.token").c_str(), 0600);
  StartAll({{"a"}, {"b"}}, "balance = \"round_robin\"\nadmin_token_file = \"admin.token\"\n");
  const std::string own_host = "Host: " + host_ + ":9901\r\n";
  const std::string json = "Content-Type: application/json\r\n";
  const std::string bearer = std::string("Authorization: Bearer ") + kToken + "\r\n";
  auto post = [&](const std::string& path, const std::string& headers) {
    return http::Exchange(host_, 9901,
                          "POST " + path + " HTTP/1.1\r\n" + headers + "Content-Length: 0\r\n\r\n",
                          "POST");
  };
  const std::vector<Case> cases = {
      {"no token", own_host + json, 401},
      {"wrong token", own_host + json + "Authorization: Bearer guess\r\n", 401},
      {"token of another length", own_host + json + bearer.substr(0, bearer.size() - 3) + "\r\n",
       401},
      {"Basic credentials", own_host + json + "Authorization: Basic YTpi\r\n", 401},
      {"a form post", own_host + "Content-Type: application/x-www-form-urlencoded\r\n" + bearer,
       415},
      {"no content type", own_host + bearer, 415},
      {"cross-origin", own_host + json + bearer + "Origin: https://evil.example\r\n", 403},
      {"DNS-rebound Host", "Host: evil.example:9901\r\n" + json + bearer, 403},
      {"another address in Host", "Host: 127.0.0.1:9901\r\n" + json + bearer, 403},
  };
  for (const Case& c : cases) {
    http::ClientResponse r = post("/servers/a/drain", c.headers);
    ASSERT_TRUE(r.ok) << c.what << ": " << r.error;
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
    if (c.status == 401) {
      EXPECT_EQ(r.Header("WWW-Authenticate").rfind("Bearer", 0), 0u) << c.what;
    }
    EXPECT_EQ(ServerState("a"), "up") << c.what << ": the refused drain was done";
  }
  std::string metrics = AdminGet("/metrics");
  EXPECT_NE(metrics.find("nines_lb_admin_refused_total " + std::to_string(cases.size())),
            std::string::npos)
      << metrics;
  // Traffic still reaches a.
  int hits_on_a = 0;
  for (int i = 0; i < 10; ++i) hits_on_a += Get("/").Header("X-Server") == "a";
  EXPECT_GT(hits_on_a, 0);
  // Reads need nothing.
  EXPECT_EQ(http::Get(host_, 9901, "/status").status, 200);
  EXPECT_EQ(http::Get(host_, 9901, "/healthz").status, 200);
  // With the token, JSON and its own Host: done.
  http::ClientResponse r = post("/servers/a/drain", own_host + json + bearer);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ServerState("a"), "draining");
  r = post("/servers/a/enable", own_host + json + bearer + "Origin: http://" + host_ + ":9901\r\n");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ServerState("a"), "up");
}

}  // namespace
}  // namespace nines::test
