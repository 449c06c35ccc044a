// Request smuggling vectors and oversized or slow requests: each gets its
// error status, the connection is closed, and no server sees the request.
#include "lb/lb_fixture.h"

namespace nines::test {
namespace {

class Hostile : public LbFixture {
 protected:
  void SetUp() override {
    LbFixture::SetUp();
    StartAll({{"a"}});
  }
  // Sends `raw`, expects `status` and a closed connection, and checks the
  // server saw nothing.
  void Expect(const std::string& raw, int status) {
    int before = BackendCount(0);
    http::ClientConnection c;
    ASSERT_TRUE(c.Connect(host_, 8080));
    c.Send(raw);
    http::ClientResponse r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, status) << raw.substr(0, 200);
    bool closed = false;
    c.ReadUntilClose(3000, &closed);
    EXPECT_TRUE(closed) << "connection left open after " << status;
    EXPECT_EQ(BackendCount(0), before) << "the server saw a bad request";
  }
};

TEST_F(Hostile, ContentLengthWithTransferEncoding) {
  Expect(
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n",
      400);
}

TEST_F(Hostile, TwoDifferentContentLengths) {
  Expect("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400);
}

TEST_F(Hostile, BadChunkSize) {
  Expect("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
         400);
}

TEST_F(Hostile, ObsoleteLineFolding) {
  Expect("GET / HTTP/1.1\r\nHost: t\r\nX-A: one\r\n  folded\r\n\r\n", 400);
}

TEST_F(Hostile, BareLineFeedInRequestLine) {
  Expect("GET / HTTP/1.1\nHost: t\r\n\r\n", 400);
}

TEST_F(Hostile, NonTokenHeaderName) {
  Expect("GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400);
  Expect("GET / HTTP/1.1\r\nHost: t\r\nB@d: x\r\n\r\n", 400);
}

TEST_F(Hostile, MissingHostOnHttp11) {
  Expect("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);
}

TEST_F(Hostile, RequestLineOver8KiB) {
  Expect("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414);
}

TEST_F(Hostile, HeadersOver64KiB) {
  std::string headers;
  for (int i = 0; i < 80; ++i)
    headers += "X-Fill-" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n";
  Expect("GET / HTTP/1.1\r\nHost: t\r\n" + headers + "\r\n", 431);
}

TEST_F(Hostile, GoodRequestAfterwardsStillWorks) {
  Expect("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
  http::ClientResponse r = Get("/");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
}

// Connection may name only hop-by-hop headers. Naming Content-Length must not
// strip the request's framing (the body would reach the server as a second,
// smuggled request), and naming Host must not replace the client's Host.
TEST_F(Hostile, ConnectionNamingContentLengthKeepsTheFraming) {
  const std::string smuggled = "GET /count HTTP/1.1\r\nHost: t\r\n\r\n";
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  ASSERT_TRUE(c.Send(
      "POST /headers HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(smuggled.size()) +
      "\r\nConnection: Content-Length\r\n\r\n" + smuggled));
  http::ClientResponse r = c.Read("POST");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("Content-Length: " + std::to_string(smuggled.size()) + "\n"),
            std::string::npos)
      << "framing header stripped:\n"
      << r.body;
  // The next request on the connection gets its own response, not the
  // smuggled request's.
  ASSERT_TRUE(c.Send("GET /status/201 HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.Read();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 201);
}

TEST_F(Hostile, ConnectionNamingHostKeepsTheHost) {
  http::ClientResponse r = Get("/headers", "Connection: Host\r\n");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("Host: test\n"), std::string::npos) << r.body;
  http::ClientResponse v =
      http::Exchange(host_, 8080,
                     "GET /headers HTTP/1.1\r\nHost: victim.example\r\n"
                     "Connection: keep-alive, Host, Transfer-Encoding\r\n\r\n");
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_NE(v.body.find("Host: victim.example\n"), std::string::npos) << v.body;
}

// The balancer's own replies to HEAD have no body, or a pipelining client
// would read the body as the next response.
TEST_F(Hostile, OwnRepliesToHeadHaveNoBody) {
  KillBackend(0);
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  ASSERT_TRUE(c.Send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\nHEAD /b HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (int i = 0; i < 2; ++i) {
    http::ClientResponse r = c.Read("HEAD");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.Header("Content-Length"), "");
  }
  bool closed = false;
  EXPECT_EQ(c.ReadUntilClose(300, &closed), "") << "bytes after the HEAD replies";
}

// No tunnels: CONNECT and WebSocket handshakes are refused, not forwarded as
// plain requests with the upgrade silently stripped.
TEST_F(Hostile, ConnectIsRefused) {
  Expect("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501);
}

TEST_F(Hostile, WebSocketUpgradeIsRefused) {
  Expect(
      "GET /chat HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      501);
}

// The client does not get to say who it is: its Forwarded and X-Real-IP are
// dropped and X-Real-IP is set to its address.
TEST_F(Hostile, ClientForwardedAndRealIpAreReplaced) {
  http::ClientResponse r = Get("/headers", "Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("6.6.6.6"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Real-IP: 127.0.0.1\n"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace nines::test
