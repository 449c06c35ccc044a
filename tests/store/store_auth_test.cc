// `requirepass` protects every interface of the store, not only
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

http::ClientResponse Send(StoreGroup& g, int i, const std::string& method, const std::string& path,
                          const std::string& body = "", const std::string& token = "") {
  std::string raw = method + " " + path +
                    " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n";
  if (!token.empty()) raw += "Authorization: Bearer " + token + "\r\n";
  raw += "\r\n" + body;
  return http::Exchange(g.member(i).host, g.member(i).http, raw, method, 10000);
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

  // HTTP: the attack, a PUT without the password, is refused.
  http::ClientResponse put = Send(g, leader, "PUT", "/v1/kv/a", "pwned");
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
  http::ClientResponse get = Send(g, leader, "GET", "/v1/kv/a", "", "s3cret");
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
        http::ClientResponse r = Send(g, 0, "GET", "/status", "", "from-a-file");
        return r.status == 200 && r.body.find("\"leader\"") != std::string::npos;
      },
      10000));
  EXPECT_EQ(Send(g, 0, "GET", "/metrics", "", "from-a-file").status, 200);
  EXPECT_EQ(Send(g, 0, "PUT", "/v1/kv/k", "v", "from-a-file").status, 200);
  RespClient c;
  ASSERT_TRUE(c.Connect(g.member(0).host, g.member(0).client));
  EXPECT_EQ(c.Call({"AUTH", "from-a-file"}), "+OK\r\n") << "RESP uses the file's password too";
}

// The value of a counter in Prometheus text, or -1.
int64_t Counter(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + name.size() + 2));
}

// A frame as the peer transport writes it: [u32 LE length][u8 kind][body].
std::string Frame(uint8_t kind, const std::string& body) {
  uint32_t n = static_cast<uint32_t>(body.size() + 1);
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.push_back(static_cast<char>(kind));
  return out + body;
}

// Members that share cluster_secret_file form a group; a stranger's frame on
// the peer port is refused and counted, and the term does not move.
TEST(StoreAuth, ClusterSecretGuardsThePeerPort) {
  StoreGroup g("auth_peer", 163);
  std::string secret = g.member(0).config + ".cluster";
  WriteFile(secret, "cluster-secret\n");
  PrependConfig(g, "cluster_secret_file = \"" + secret + "\"\n");
  g.StartAll();
  int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "members with the same cluster secret did not elect a leader";
  RespClient c;
  ASSERT_TRUE(c.Connect(g.member(leader).host, g.member(leader).client));
  EXPECT_EQ(c.Call({"SET", "k", "v"}), "+OK\r\n");
  int64_t term = (*g.Status(leader))["term"];

  // A frame of kind 1 (a Raft message) without the answer to the challenge.
  std::string garbage_vote(64, '\x7f');
  http::ClientConnection conn;  // a plain TCP connection: only Send and ReadUntilClose are used
  ASSERT_TRUE(conn.Connect(g.member(leader).host, g.member(leader).peer));
  ASSERT_TRUE(conn.Send(Frame(1, garbage_vote)));
  bool closed = false;
  conn.ReadUntilClose(5000, &closed);
  EXPECT_TRUE(closed) << "the member kept a connection that did not answer the challenge";
  EXPECT_TRUE(WaitUntil(
      [&] {
        http::ClientResponse m = Send(g, leader, "GET", "/metrics");
        return m.status == 200 && Counter(m.body, "nines_store_peer_auth_failures_total") >= 1;
      },
      5000));
  auto status = g.Status(leader);
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)["term"], term);
  EXPECT_EQ((*status)["role"], "leader");
}

}  // namespace
}  // namespace nines::test
