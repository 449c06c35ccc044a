// Issue 16: `requirepass` protects every interface of the store, not only
// RESP. Without `Authorization: Bearer PASSWORD` the HTTP API answers 401
// with WWW-Authenticate and changes nothing: keys, membership, leader
// transfer, and /status and /metrics unless metrics_without_auth = true.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

// Puts top-level keys before the [[member]] tables of every member's config.
void PrependConfig(StoreGroup& g, const std::string& text) {
  for (size_t i = 0; i < g.size(); ++i) {
    std::ifstream in(g.member(static_cast<int>(i)).config);
    std::stringstream old;
    old << in.rdbuf();
    WriteFile(g.member(static_cast<int>(i)).config, text + old.str());
  }
}

HttpResult Send(StoreGroup& g, int i, const std::string& method, const std::string& path,
                const std::string& body = "", const std::string& token = "") {
  std::string raw = method + " " + path +
                    " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n";
  if (!token.empty()) raw += "Authorization: Bearer " + token + "\r\n";
  raw += "\r\n" + body;
  return HttpRequest(g.member(i).host, g.member(i).http, raw, method, 10000);
}

std::string AuthedGet(StoreGroup& g, int i, const std::string& key) {
  RespClient c;
  if (!c.Connect(g.member(i).host, g.member(i).client)) return "";
  c.Call({"AUTH", "s3cret"});
  return c.Call({"GET", key});
}

TEST(StoreAuth, RequirepassGuardsEveryHttpEndpoint) {
  StoreGroup g("auth", 161);
  PrependConfig(g, "requirepass = \"s3cret\"\nmetrics_without_auth = true\n");
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";

  // RESP: NOAUTH without the password.
  RespClient c;
  ASSERT_TRUE(c.Connect(g.member(leader).host, g.member(leader).client));
  EXPECT_EQ(c.Call({"SET", "a", "v1"}).rfind("-NOAUTH", 0), 0u);
  EXPECT_EQ(c.Call({"AUTH", "s3cret"}), "+OK\r\n");
  EXPECT_EQ(c.Call({"SET", "a", "v1"}), "+OK\r\n");

  // HTTP: the repro, a PUT without the password, is refused.
  HttpResult put = Send(g, leader, "PUT", "/v1/kv/a", "pwned");
  EXPECT_EQ(put.status, 401) << put.head;
  EXPECT_EQ(put.Header("WWW-Authenticate").rfind("Bearer", 0), 0u) << put.head;
  EXPECT_EQ(Send(g, leader, "PUT", "/v1/kv/a", "pwned", "wrong").status, 401);
  EXPECT_EQ(Send(g, leader, "DELETE", "/v1/kv/a").status, 401);
  EXPECT_EQ(Send(g, leader, "GET", "/v1/kv/a").status, 401);
  EXPECT_EQ(AuthedGet(g, leader, "a"), Bulk("v1")) << "an unauthenticated PUT changed the key";

  // Membership and leader transfer.
  EXPECT_EQ(Send(g, leader, "GET", "/v1/members").status, 401);
  EXPECT_EQ(
      Send(g, leader, "POST", "/v1/members", "{\"id\":\"s9\",\"peer\":\"127.0.161.1:1\"}").status,
      401);
  EXPECT_EQ(Send(g, leader, "DELETE", "/v1/members/s2").status, 401);
  EXPECT_EQ(Send(g, leader, "POST", "/v1/leader/transfer").status, 401);
  EXPECT_EQ(g.Leader(g.All()), leader) << "an unauthenticated transfer moved the leader";
  EXPECT_EQ(Send(g, leader, "GET", "/v1/members", "", "s3cret").body.find("s9"), std::string::npos)
      << "an unauthenticated POST /v1/members added a member";

  // With the token: 200.
  EXPECT_EQ(Send(g, leader, "PUT", "/v1/kv/a", "v2", "s3cret").status, 200);
  HttpResult get = Send(g, leader, "GET", "/v1/kv/a", "", "s3cret");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "v2");
  EXPECT_EQ(Send(g, leader, "GET", "/v1/members", "", "s3cret").status, 200);

  // metrics_without_auth = true leaves /status and /metrics open.
  EXPECT_EQ(Send(g, leader, "GET", "/status").status, 200);
  EXPECT_EQ(Send(g, leader, "GET", "/metrics").status, 200);
  EXPECT_EQ(Send(g, leader, "GET", "/healthz").status, 200);
}

TEST(StoreAuth, StatusAndMetricsNeedThePasswordByDefault) {
  StoreGroup g("auth_status", 162, 1);
  std::string dir = g.member(0).config + ".secret";
  WriteFile(dir, "from-a-file\n");
  PrependConfig(g, "requirepass_file = \"" + dir + "\"\n");
  g.StartAll();
  EXPECT_TRUE(WaitUntil([&] { return Send(g, 0, "GET", "/healthz").status == 200; }, 10000))
      << "the health endpoint needs no password";
  EXPECT_EQ(Send(g, 0, "GET", "/status").status, 401);
  EXPECT_EQ(Send(g, 0, "GET", "/metrics").status, 401);
  EXPECT_EQ(Send(g, 0, "GET", "/status", "", "wrong").status, 401);
  EXPECT_TRUE(WaitUntil(
      [&] {
        HttpResult r = Send(g, 0, "GET", "/status", "", "from-a-file");
        return r.status == 200 && r.body.find("\"leader\"") != std::string::npos;
      },
      10000));
  EXPECT_EQ(Send(g, 0, "GET", "/metrics", "", "from-a-file").status, 200);
  EXPECT_EQ(Send(g, 0, "PUT", "/v1/kv/k", "v", "from-a-file").status, 200);
  RespClient c;
  ASSERT_TRUE(c.Connect(g.member(0).host, g.member(0).client));
  EXPECT_EQ(c.Call({"AUTH", "from-a-file"}), "+OK\r\n") << "RESP uses the file's password too";
}

}  // namespace
}  // namespace nines::test
