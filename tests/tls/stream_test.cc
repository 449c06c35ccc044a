// tls::Stream on real sockets: an Asio echo server over it, a blocking
// OpenSSL client: bulk data both ways, ticket resumption and rotation, and
// garbage instead of a ClientHello.
#include "tls/stream.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <array>
#include <atomic>
#include <future>
#include <thread>

#include "support/process.h"
#include "support/test_tls.h"
#include "support/wait.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace nines::tls {
namespace {

// Echoes what it reads, writing each chunk as two buffers (head and rest)
// so the stream's gathering is exercised.
class EchoConnection : public std::enable_shared_from_this<EchoConnection> {
 public:
  EchoConnection(asio::ip::tcp::socket socket, std::shared_ptr<const ServerContext> ctx,
                 std::atomic<int>* failures)
      : socket_(std::move(socket)), failures_(failures) {
    std::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    SSL* ssl = ctx->NewSsl();
    stream_ = std::make_unique<Stream>(socket_, ssl, std::move(ctx));
  }
  void Start() {
    stream_->async_handshake([self = shared_from_this()](std::error_code ec) {
      if (ec) {
        self->failures_->fetch_add(1);
        return;
      }
      self->Read();
    });
  }

 private:
  void Read() {
    stream_->async_read_some(asio::buffer(buffer_), [self = shared_from_this()](std::error_code ec,
                                                                                size_t n) {
      if (ec) return;
      size_t head = std::min<size_t>(n, 7);
      std::array<asio::const_buffer, 2> parts{asio::buffer(self->buffer_.data(), head),
                                              asio::buffer(self->buffer_.data() + head, n - head)};
      asio::async_write(*self->stream_, parts, [self](std::error_code write_ec, size_t) {
        if (!write_ec) self->Read();
      });
    });
  }

  asio::ip::tcp::socket socket_;
  std::unique_ptr<Stream> stream_;
  std::array<char, 20000> buffer_;
  std::atomic<int>* failures_;
};

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::TestDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ca_ = test::MakeTestCa(dir_);
    test::MakeTestLeaf(ca_, dir_ + "/s", {"s.test"});
    ServerOptions options;
    options.certificates = {{dir_ + "/s.pem", dir_ + "/s.key"}};
    keys_ = std::make_shared<TicketKeys>();
    std::shared_ptr<ServerContext> built_ctx;
    Status built = ServerContext::Build(options, keys_, &built_ctx);
    ASSERT_TRUE(built.ok()) << built.ToString();
    ASSERT_TRUE(built_ctx);
    ctx_ = std::move(built_ctx);
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  void Accept() {
    acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
      if (ec) return;
      std::make_shared<EchoConnection>(std::move(socket), ctx_, &failures_)->Start();
      Accept();
    });
  }

  std::string dir_;
  test::TestCa ca_;
  std::shared_ptr<TicketKeys> keys_;
  std::shared_ptr<const ServerContext> ctx_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_{io_};
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> failures_{0};
};

TEST_F(StreamTest, EchoesAMegabyte) {
  test::TlsTestClient c;
  ASSERT_TRUE(c.Connect("127.0.0.1", port_, "s.test", ca_.cert_file)) << c.error();
  EXPECT_EQ(c.PeerCommonName(), "s.test");
  std::string sent;
  for (int i = 0; sent.size() < (1 << 20); ++i) sent += std::to_string(i) + ",";
  std::string got;
  for (size_t at = 0; at < sent.size(); at += 50000) {
    ASSERT_TRUE(c.Send(sent.substr(at, 50000)));
    while (got.size() < std::min(sent.size(), at + 50000)) {
      std::string more = c.Read(65536);
      ASSERT_FALSE(more.empty()) << "echo stopped at " << got.size();
      got += more;
    }
  }
  EXPECT_TRUE(got == sent);
}

TEST_F(StreamTest, TicketResumesUntilItsKeyLeavesTheRing) {
  // Each connection reads an echo (the TLS 1.3 ticket comes before it) and
  // hands its newest session to the next, as browsers use tickets once.
  SSL_SESSION* session = nullptr;
  auto connect = [&](bool* resumed) {
    test::TlsTestClient c;
    if (!c.Connect("127.0.0.1", port_, "s.test", ca_.cert_file, session)) return false;
    *resumed = c.Resumed();
    if (!c.Send("ping") || c.Read(100) != "ping") return false;
    SSL_SESSION* next = c.TakeSession();
    if (session) SSL_SESSION_free(session);
    session = next;
    return true;
  };
  bool resumed = false;
  ASSERT_TRUE(connect(&resumed));
  EXPECT_FALSE(resumed);
  ASSERT_TRUE(connect(&resumed));
  EXPECT_TRUE(resumed);

  keys_->Rotate();  // one rotation: the old key still opens the ticket
  ASSERT_TRUE(connect(&resumed));
  EXPECT_TRUE(resumed);

  // The session now holds a ticket under the current key; three rotations
  // push that key out of the ring: a full handshake.
  keys_->Rotate();
  keys_->Rotate();
  keys_->Rotate();
  ASSERT_TRUE(connect(&resumed));
  EXPECT_FALSE(resumed);
  SSL_SESSION_free(session);
}

TEST_F(StreamTest, GarbageInsteadOfAClientHelloFailsTheHandshakeAndCloses) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string garbage = "GET / HTTP/1.1\r\nHost: s.test\r\n\r\n";
  ASSERT_EQ(::send(fd, garbage.data(), garbage.size(), 0), static_cast<ssize_t>(garbage.size()));
  EXPECT_TRUE(test::WaitUntil([&] { return failures_.load() == 1; }, 5000));
  ::close(fd);
}

// The client side: tls::ClientContext and a client-mode Stream on the same
// loop, verifying the server's name against the CA.
TEST_F(StreamTest, ClientContextVerifiesTheServerNameAgainstTheCa) {
  ClientOptions options;
  options.ca_file = ca_.cert_file;
  std::shared_ptr<ClientContext> client_ctx;
  Status built = ClientContext::Build(options, &client_ctx);
  ASSERT_TRUE(built.ok()) << built.ToString();
  ASSERT_TRUE(client_ctx);
  auto attempt = [&](const std::string& name) {
    std::promise<std::string> result;
    auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
    std::shared_ptr<Stream> stream;
    asio::post(io_, [&, socket] {
      socket->connect({asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)});
      stream = std::make_shared<Stream>(*socket, client_ctx->NewSsl(name), client_ctx);
      stream->async_handshake([&, stream](std::error_code ec) {
        if (ec) return result.set_value("handshake: " + ec.message());
        static const std::string kPing = "ping";
        asio::async_write(*stream, asio::buffer(kPing), [&, stream](std::error_code, size_t) {
          auto buffer = std::make_shared<std::array<char, 4>>();
          asio::async_read(
              *stream, asio::buffer(*buffer),
              [&, stream, buffer](std::error_code read_ec, size_t n) {
                result.set_value(read_ec ? read_ec.message() : std::string(buffer->data(), n));
              });
        });
      });
    });
    std::string out = result.get_future().get();
    asio::post(io_, [socket, stream] {
      std::error_code ignored;
      socket->close(ignored);
    });
    return out;
  };
  EXPECT_EQ(attempt("s.test"), "ping");
  std::string wrong = attempt("other.test");
  EXPECT_NE(wrong.find("handshake"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("certificate verify failed"), std::string::npos) << wrong;
}

}  // namespace
}  // namespace nines::tls
