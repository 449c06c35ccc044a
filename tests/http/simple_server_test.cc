// SimpleServer driven by the blocking client: whole requests with
// Content-Length and chunked bodies, keep-alive, the body limit, JSON errors,
// and accepting again after the process ran out of descriptors.
#include "http/simple_server.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http/client.h"
#include "support/wait.h"

namespace nines::http {
namespace {

// A SimpleServer on 127.0.0.1:<ephemeral> whose handler echoes method, path and body.
class EchoServer {
 public:
  explicit EchoServer(ServerOptions options = {})
      : server_(
            io_, Endpoint{"127.0.0.1", 0},
            [](const Request& req, const Responder& respond) {
              respond(Response::Text(200, req.method + " " + req.path + " " + req.body));
            },
            options) {
    server_.Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EchoServer() {
    asio::post(io_, [this] { server_.Stop(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  int port() const { return server_.endpoint().port; }
  SimpleServer& server() { return server_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  SimpleServer server_;
  std::thread thread_;
};

TEST(SimpleServer, AnswersAContentLengthBody) {
  EchoServer server;
  ClientResponse r = Post("127.0.0.1", server.port(), "/p", "hello");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST /p hello");
}

TEST(SimpleServer, DecodesAChunkedRequestBodyWhateverTheSplit) {
  EchoServer server;
  const std::string request =
      "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;x=y\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nTrailer: 1\r\n\r\n";
  ClientConnection c;
  ASSERT_TRUE(c.Connect("127.0.0.1", server.port())) << c.error();
  // Byte by byte through the chunk framing, then whole, on one connection.
  size_t head_end = request.find("\r\n\r\n") + 4;
  ASSERT_TRUE(c.Send(request.substr(0, head_end)));
  for (size_t i = head_end; i < request.size(); ++i) ASSERT_TRUE(c.Send(request.substr(i, 1)));
  ClientResponse r = c.Read("POST");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "POST /c hello, world");
  ASSERT_TRUE(c.Send(request));
  r = c.Read("POST");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "POST /c hello, world");
}

TEST(SimpleServer, RejectsAMalformedChunkedBody) {
  EchoServer server;
  ClientResponse r = Exchange("127.0.0.1", server.port(),
                              "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "zz\r\n",
                              "POST");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 400);
}

TEST(SimpleServer, ChunkedBodyOverTheLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 10;
  EchoServer server(options);
  ClientResponse r = Exchange("127.0.0.1", server.port(),
                              "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "b\r\nhello world\r\n0\r\n\r\n",
                              "POST");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 413);
}

TEST(SimpleServer, KeepAliveServesManyRequestsOnOneConnection) {
  EchoServer server;
  ClientConnection c;
  for (int i = 0; i < 5; ++i) {
    ClientResponse r = c.Request("127.0.0.1", server.port(), "GET", "/k" + std::to_string(i));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.body, "GET /k" + std::to_string(i) + " ");
    EXPECT_FALSE(r.closed);
  }
}

TEST(SimpleServer, JsonErrorEscapesTheMessage) {
  Response r = JsonError(404, "no key \"a\\b\"\n");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":"no key \"a\\b\"\n"})"
                    "\n");
}

// Fills the descriptor table (under a lowered RLIMIT_NOFILE) so the server's
// accept fails with EMFILE; the server must count it, back off, and serve the
// waiting connection once descriptors are free again.
TEST(SimpleServer, AcceptBacksOffWhileDescriptorsAreExhaustedAndRecovers) {
  EchoServer server;
  MetricsRegistry registry;
  server.server().ExportMetrics(registry);
  // The client socket exists before the table is full; connect needs no new descriptor.
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(256, saved.rlim_cur);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> filler;
  while (true) {
    int fd = dup(client);
    if (fd < 0) break;
    filler.push_back(fd);
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(server.port()));
  to.sin_addr.s_addr = htonl(0x7f000001);
  bool connected = connect(client, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
  const std::string request = "GET /after HTTP/1.1\r\nHost: t\r\n\r\n";
  bool sent = connected && send(client, request.data(), request.size(), MSG_NOSIGNAL) ==
                               static_cast<ssize_t>(request.size());
  bool counted = test::WaitUntil([&] { return server.server().accept_errors() >= 2; }, 5000);
  for (int fd : filler) ::close(fd);
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(connected);
  ASSERT_TRUE(sent);
  ASSERT_TRUE(counted) << "accept never failed: the table was not full?";
  std::string metrics = registry.RenderPrometheus();
  EXPECT_NE(metrics.find("nines_http_accept_errors_total{listen=\"127.0.0.1:" +
                         std::to_string(server.port()) + "\"}"),
            std::string::npos)
      << metrics;
  // Backing off, not spinning: about one failure per kAcceptBackoffMs. (A
  // loose bound: a spinning accept fails hundreds of thousands of times.)
  EXPECT_LT(server.server().accept_errors(), 1000u);
  // Descriptors are back: the waiting connection is served.
  std::string got;
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        pollfd p{client, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) return false;
        char buf[4096];
        ssize_t n = recv(client, buf, sizeof(buf), 0);
        if (n > 0) got.append(buf, static_cast<size_t>(n));
        return got.find("GET /after") != std::string::npos || n <= 0;
      },
      5000));
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 200") << got;
  ::close(client);
}

}  // namespace
}  // namespace nines::http
