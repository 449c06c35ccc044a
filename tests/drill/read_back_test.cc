// The lost-write check against a small HTTP server standing in for an lb:
// a read-back compares the body, not only the status; with no lb to read
// through nothing counts as verified.
#include "drill/read_back.h"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>

#include <thread>

#include "http/simple_server.h"

namespace nines::drill {
namespace {

constexpr const char* kGood = R"({"id":"good","order":{"item":"drill","qty":1}})";
constexpr const char* kStored = R"({"id":"changed","order":{"item":"drill","qty":5}})";
constexpr const char* kAcked = R"({"id":"changed","order":{"item":"drill","qty":1}})";

// Answers GET /orders/good and /orders/changed with a stored body, anything
// else 404; on 127.0.9.30:18080.
class FakeLb {
 public:
  FakeLb()
      : server_(io_, Endpoint{"127.0.9.30", 18080},
                [](const http::Request& r, const http::Responder& respond) {
                  if (r.path == "/orders/good") return respond(http::Response::Json(200, kGood));
                  if (r.path == "/orders/changed") {
                    return respond(http::Response::Json(200, kStored));
                  }
                  respond(http::Response::Json(404, R"({"error":"no such order"})"));
                }) {
    server_.Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeLb() {
    asio::post(io_, [this] { server_.Stop(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  http::SimpleServer server_;
  std::thread thread_;
};

ReadBackOptions Options(std::vector<std::string> lbs) {
  ReadBackOptions o;
  o.lbs = std::move(lbs);
  o.threads = 2;
  o.timeout_ms = 2000;
  return o;
}

TEST(ReadBack, ComparesTheBodyNotOnlyTheStatus) {
  FakeLb lb;
  std::vector<AcknowledgedWrite> writes = {{"good", BodyFingerprint(kGood)},
                                           {"changed", BodyFingerprint(kAcked)}};
  WriteCheck c = ReadBack(writes, Options({"127.0.9.30:18080"}));
  EXPECT_EQ(c.acknowledged, 2u);
  EXPECT_EQ(c.verified, 1u);
  EXPECT_EQ(c.mismatched, 1u);
  EXPECT_EQ(c.lost, 0u);
  ASSERT_EQ(c.mismatched_ids.size(), 1u);
  EXPECT_EQ(c.mismatched_ids[0], "changed");
}

TEST(ReadBack, NotFoundIsLost) {
  FakeLb lb;
  WriteCheck c = ReadBack({{"gone", BodyFingerprint("{}")}}, Options({"127.0.9.30:18080"}));
  EXPECT_EQ(c.lost, 1u);
  EXPECT_EQ(c.verified, 0u);
}

TEST(ReadBack, NoLoadBalancerVerifiesNothing) {
  std::vector<AcknowledgedWrite> writes = {{"good", BodyFingerprint(kGood)}};
  WriteCheck c = ReadBack(writes, Options({}));
  EXPECT_EQ(c.verified, 0u);
  EXPECT_EQ(c.unverifiable, 1u);
  EXPECT_NE(c.problem.find("no load balancer"), std::string::npos) << c.problem;
}

}  // namespace
}  // namespace nines::drill
