// Hostile inputs against the balancer's policies, through a running nines lb:
// clients that try to eject every server with application errors, a retry
// budget that must hold the load on failing servers to its documented ratio
// whatever was banked before, and a balancer out of file descriptors.
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "lb/lb_fixture.h"

namespace nines::test {
namespace {

using Policy = LbFixture;

nlohmann::json ServerStatus(const std::string& status_body, const std::string& name) {
  auto status = nlohmann::json::parse(status_body, nullptr, false);
  if (status.is_discarded()) return nlohmann::json();
  for (const auto& s : status["servers"]) {
    if (s["name"] == name) return s;
  }
  return nlohmann::json();
}

// Issue 12, bug 7: a 500 or 501 is the application's answer, not a sign the
// server is failing; and a pool with too few healthy servers routes to the
// ejected ones (panic) instead of answering 503 itself.
TEST_F(Policy, ApplicationErrorsDoNotEjectAndPanicRoutesToTheLastServer) {
  StartAll({{"a"}});
  for (int i = 0; i < 10; ++i) {
    HttpResult r = Get(i % 2 ? "/status/500" : "/status/501");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, i % 2 ? 500 : 501);
  }
  nlohmann::json a = ServerStatus(AdminGet("/status"), "a");
  ASSERT_FALSE(a.is_null());
  EXPECT_EQ(a["ejected"], false) << a.dump();
  EXPECT_EQ(a["times_ejected"], 0) << a.dump();

  // Gateway failures do eject (five in a row by default)...
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Get("/status/503").ok);
  a = ServerStatus(AdminGet("/status"), "a");
  EXPECT_EQ(a["ejected"], true) << a.dump();
  // ...but the only server is all the pool has: it still gets the requests.
  for (int i = 0; i < 5; ++i) {
    HttpResult r = Get("/");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200) << r.head;
    EXPECT_EQ(r.Header("X-Server"), "a");
  }
}

// Issue 12, bug 5: credit banked by earlier traffic (including requests
// refused with 429) let 100 failing requests make 300 attempts. The budget
// allows retries of at most `retry_budget` (1.0) of the requests forwarded,
// plus a bank of at most 10.
TEST_F(Policy, RetryBudgetHoldsFailingLoadToTheDocumentedRatio) {
  StartAll({{"a"}, {"b"}, {"c"}},
           "retries = 2\nretry_budget = 1.0\n"
           "[outlier]\nconsecutive_failures = 0\n"
           "[rate_limit]\nper_client = \"150/min\"\nclient_key = \"header:X-Key\"\n");
  // Healthy traffic, then a flood the rate limit refuses.
  HttpConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  int refused = 0;
  for (int i = 0; i < 350; ++i) {
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: t\r\nX-Key: flood\r\n\r\n"));
    HttpResult r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    refused += r.status == 429 ? 1 : 0;
  }
  EXPECT_EQ(refused, 200);
  int before = BackendCount(0) + BackendCount(1) + BackendCount(2);
  // Now every server fails every request, and each request wants 2 retries.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(c.Send("GET /status/503 HTTP/1.1\r\nHost: t\r\nX-Key: victim\r\n\r\n"));
    HttpResult r = c.Read();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 503);
    if (r.closed) {
      ASSERT_TRUE(c.Connect(host_, 8080));
    }
  }
  int attempts = BackendCount(0) + BackendCount(1) + BackendCount(2) - before;
  EXPECT_GE(attempts, 100);
  EXPECT_LE(attempts, 100 + 100 + 10) << "retries exceeded the budget";
}

}  // namespace
}  // namespace nines::test
