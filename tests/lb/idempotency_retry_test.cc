// Retries of non-idempotent requests that carry an Idempotency-Key
// (`idempotency_key_header`): a POST with the key goes to another server when
// the first one's connection broke before any response byte, over HTTP/1.1
// and HTTP/2; without the key, after a response began, on a 503, with the
// option off or the retry budget spent, it does not. The first server is a
// ScriptedBackend (primary) that resets the connection; the second a
// ScriptedBackend backup, so the first attempt always goes to the first.
#include <sys/socket.h>

#include <memory>

#include "lb/lb_fixture.h"
#include "lb/scripted_backend.h"
#include "support/h2_client.h"

namespace nines::test {
namespace {

constexpr char kKeyed[] = "idempotency_key_header = \"Idempotency-Key\"\n";
// No passive ejection: every request must meet the resetting server first.
constexpr char kNoOutlier[] = "[outlier]\nconsecutive_failures = 0\n";

// Closes with a TCP reset (SO_LINGER 0) once the request is read: the server
// died with the request in hand, before answering.
bool Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  return false;
}

class IdempotencyRetry : public LbFixture {
 protected:
  void TearDown() override {
    LbFixture::TearDown();
    first_.reset();
    second_.reset();
  }
  // "a" (primary) runs `first`; "b" (backup) answers 200 "b" with the body
  // it got.
  void Start(ScriptedBackend::Handler first, const std::string& extra) {
    first_ = std::make_unique<ScriptedBackend>(BackendHost(0), 8081, std::move(first));
    second_ = std::make_unique<ScriptedBackend>(
        BackendHost(1), 8081, [](int fd, const ScriptedRequest& request) {
          std::string body = "b:" + request.body;
          return ScriptedBackend::SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: " +
                                                  std::to_string(body.size()) + "\r\n\r\n" + body);
        });
    WriteConfig({BackendSpec("a"), BackendSpec("b", true)}, extra);
    StartLb();
    ASSERT_TRUE(
        WaitUntil([&] { return ServerState("a") == "up" && ServerState("b") == "up"; }, 5000));
  }
  http::ClientResponse Post(const std::string& key, const std::string& body = "{\"qty\":1}") {
    return http::Post(host_, 8080, "/orders", body,
                      http::ClientOptions().Host("test").Headers(
                          key.empty() ? "" : "Idempotency-Key: " + key + "\r\n"));
  }
  int64_t Metric(const std::string& name) {
    std::string metrics = AdminGet("/metrics");
    size_t at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + name.size() + 2));
  }
  std::unique_ptr<ScriptedBackend> first_;
  std::unique_ptr<ScriptedBackend> second_;
};

TEST_F(IdempotencyRetry, KeyedPostIsRetriedOnAnotherServerAfterAReset) {
  Start([](int fd, const ScriptedRequest&) { return Reset(fd); }, std::string(kKeyed) + kNoOutlier);
  http::ClientResponse r = Post("order-1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "b:{\"qty\":1}") << "the retry carries the same body";
  ASSERT_EQ(second_->requests(), 1);
  EXPECT_NE(second_->heads()[0].find("Idempotency-Key: order-1\r\n"), std::string::npos)
      << second_->heads()[0];
  EXPECT_EQ(first_->requests(), 1);

  // Without the key the same POST may have been applied: 502, no retry.
  r = Post("");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(first_->requests(), 2);
  EXPECT_EQ(second_->requests(), 1) << "a POST without a key was sent twice";

  // An empty key is no key; nor is one the client made hop-by-hop, which the
  // server never sees.
  for (const char* headers :
       {"Idempotency-Key: \r\n", "Idempotency-Key: k\r\nConnection: Idempotency-Key\r\n"}) {
    r = http::Post(host_, 8080, "/orders", "{}",
                   http::ClientOptions().Host("test").Headers(headers));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 502) << headers;
    EXPECT_EQ(second_->requests(), 1) << headers;
  }
}

TEST_F(IdempotencyRetry, KeyedPostIsNotRetriedWhenTheOptionIsOff) {
  Start([](int fd, const ScriptedRequest&) { return Reset(fd); }, kNoOutlier);
  http::ClientResponse r = Post("order-1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(second_->requests(), 0);
}

// Once the server began a response, it may have done the work and a retry
// could only repeat a response the client can no longer be given: 502.
TEST_F(IdempotencyRetry, KeyedPostIsNotRetriedAfterTheResponseBegan) {
  Start(
      [](int fd, const ScriptedRequest&) {
        ScriptedBackend::SendAll(fd, "HTTP/1.1 201 Created\r\nContent-Le");
        return Reset(fd);
      },
      std::string(kKeyed) + kNoOutlier);
  http::ClientResponse r = Post("order-1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(second_->requests(), 0);
}

// A server's own 503 is an answer, not a broken connection: a keyed POST
// gets it as it is (GET would be retried).
TEST_F(IdempotencyRetry, KeyedPostIsNotRetriedOnAServerError) {
  Start(
      [](int fd, const ScriptedRequest&) {
        return ScriptedBackend::SendAll(
            fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\na\n");
      },
      std::string(kKeyed) + kNoOutlier);
  http::ClientResponse r = Post("order-1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "a\n");
  EXPECT_EQ(second_->requests(), 0);
}

TEST_F(IdempotencyRetry, KeyedRetriesSpendTheRetryBudget) {
  Start([](int fd, const ScriptedRequest&) { return Reset(fd); },
        std::string(kKeyed) + "retry_budget = 0\n" + kNoOutlier);
  http::ClientResponse r = Post("order-1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(second_->requests(), 0);
  EXPECT_EQ(Metric("nines_lb_retry_budget_exhausted_total"), 1);
}

TEST_F(IdempotencyRetry, KeyedPostOverHttp2IsRetriedOnAnotherServerAfterAReset) {
  Start([](int fd, const ScriptedRequest&) { return Reset(fd); },
        std::string(kKeyed) + kNoOutlier + "[h2]\nlisten = \"" + host_ + ":8082\"\n");
  http::ClientConnection conn;
  ASSERT_TRUE(conn.Connect(host_, 8082, 3000));
  H2Client client;
  // With content-length, so that the backend reads the body whole.
  int32_t keyed = client.Submit(
      "POST", "/orders", {{"idempotency-key", "order-2"}, {"content-length", "7"}}, "{\"n\":2}");
  ASSERT_TRUE(client.RunUntilDone(conn.fd(), keyed, 5000));
  EXPECT_EQ(client.response(keyed).status, 200);
  EXPECT_EQ(client.response(keyed).body, "b:{\"n\":2}");
  EXPECT_EQ(second_->requests(), 1);

  int32_t plain = client.Submit("POST", "/orders", {{"content-length", "7"}}, "{\"n\":3}");
  ASSERT_TRUE(client.RunUntilDone(conn.fd(), plain, 5000));
  EXPECT_EQ(client.response(plain).status, 502);
  EXPECT_EQ(second_->requests(), 1) << "a POST without a key was sent twice";
  EXPECT_EQ(first_->requests(), 2);
}

}  // namespace
}  // namespace nines::test
