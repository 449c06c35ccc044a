// SimpleServer driven by the blocking client: whole requests with
// Content-Length and chunked bodies, keep-alive, and the body limit.
#include "http/simple_server.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "http/client.h"

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

}  // namespace
}  // namespace nines::http
