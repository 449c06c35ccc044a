// http::ClientConnection and the one-shot helpers against a scripted server
// on 127.0.0.1: deadlines against a silent server, chunked bodies, keep-alive
// reuse, the request it sends, and binding a source address.
#include "http/client.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scripted_server.h"

namespace nines::http {
namespace {

TEST(HttpClient, GetReadsAContentLengthBody) {
  ScriptedServer server([](const std::string&) { return Ok("hello"); });
  ClientResponse r = Get("127.0.0.1", server.port(), "/x");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.Header("content-length"), "5");
  EXPECT_FALSE(r.closed);
}

TEST(HttpClient, SendsHostPortAndJsonContentType) {
  ScriptedServer server([](const std::string&) { return Ok(""); });
  ASSERT_TRUE(Post("127.0.0.1", server.port(), "/api", "{}").ok);
  ASSERT_TRUE(Get("127.0.0.1", server.port(), "/g", ClientOptions().Host("example.test")).ok);
  std::vector<std::string> got = server.requests();
  ASSERT_EQ(got.size(), 2u);
  std::string host = "Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n";
  EXPECT_EQ(got[0].rfind("POST /api HTTP/1.1\r\n", 0), 0u) << got[0];
  EXPECT_NE(got[0].find(host), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("Content-Type: application/json\r\n"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("Content-Length: 2\r\n\r\n{}"), std::string::npos) << got[0];
  EXPECT_NE(got[1].find("Host: example.test\r\n"), std::string::npos) << got[1];
  EXPECT_EQ(got[1].find("Content-Length"), std::string::npos) << got[1];
}

TEST(HttpClient, DeadlineExpiresAgainstASilentServer) {
  ScriptedServer server([](const std::string&) { return std::string(); });
  auto start = std::chrono::steady_clock::now();
  ClientResponse r = Get("127.0.0.1", server.port(), "/", ClientOptions().Timeout(200));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("timeout"), std::string::npos) << r.error;
  // It waited at least its deadline (the upper side is not asserted: speed).
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpClient, DecodesAChunkedBody) {
  ScriptedServer server([](const std::string&) {
    return std::string(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n");
  });
  ClientConnection c;
  ClientResponse r = c.Request("127.0.0.1", server.port(), "GET", "/");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "hello, world");
  // The message ended exactly at the trailers: the connection is reusable.
  r = c.Request("127.0.0.1", server.port(), "GET", "/");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "hello, world");
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClient, RejectsAMalformedChunkedBody) {
  ScriptedServer server([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  });
  ClientResponse r = Get("127.0.0.1", server.port(), "/", ClientOptions().Timeout(2000));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("bad chunked body"), std::string::npos) << r.error;
}

TEST(HttpClient, KeepAliveReusesOneConnection) {
  int n = 0;
  ScriptedServer server([&n](const std::string&) { return Ok(std::to_string(++n)); });
  ClientConnection c;
  for (int i = 1; i <= 3; ++i) {
    ClientResponse r = c.Request("127.0.0.1", server.port(), "GET", "/");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.body, std::to_string(i));
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClient, PipelinedResponsesReadInOrder) {
  ScriptedServer server([](const std::string& req) {
    return Ok(req.substr(4, req.find(' ', 4) - 4));  // echoes the path
  });
  ClientConnection c;
  ASSERT_TRUE(c.Connect("127.0.0.1", server.port())) << c.error();
  ASSERT_TRUE(c.Send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(c.Read().body, "/a");
  EXPECT_EQ(c.Read().body, "/b");
}

TEST(HttpClient, ReconnectsWhenTheServerClosedAnIdleConnection) {
  ScriptedServer server([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  ClientConnection c;
  ClientResponse r = c.Request("127.0.0.1", server.port(), "GET", "/");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.closed);
  EXPECT_FALSE(c.connected());
  r = c.Request("127.0.0.1", server.port(), "GET", "/");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, BindsTheSourceAddress) {
  ScriptedServer server([](const std::string&) { return Ok("x"); });
  ClientResponse r = Get("127.0.0.1", server.port(), "/", ClientOptions().Source("127.0.0.2"));
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(server.peers().size(), 1u);
  EXPECT_EQ(server.peers()[0], "127.0.0.2");
}

TEST(HttpClient, ReadsABodyUntilClose) {
  ScriptedServer server(
      [](const std::string&) {
        return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
      },
      /*close_after_reply=*/true);
  ClientResponse r = Get("127.0.0.1", server.port(), "/");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "all of it");
  EXPECT_TRUE(r.closed);
}

TEST(HttpClient, RefusedConnectionAndBadAddressAreErrors) {
  int port = 0;
  {
    ScriptedServer server([](const std::string&) { return std::string(); });
    port = server.port();
  }
  ClientResponse r = Get("127.0.0.1", port, "/", ClientOptions().Timeout(1000));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
  EXPECT_FALSE(TcpConnects("127.0.0.1", port, 1000));
  r = Get("not-an-address", 80, "/");
  EXPECT_NE(r.error.find("bad address"), std::string::npos) << r.error;
}

TEST(HttpClient, ResponseLargerThanTheLimitIsAnError) {
  ScriptedServer server([](const std::string&) { return Ok(std::string(10000, 'x')); });
  ClientResponse r = Get("127.0.0.1", server.port(), "/", ClientOptions().MaxResponseBytes(1000));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "response too large");
}

}  // namespace
}  // namespace nines::http
