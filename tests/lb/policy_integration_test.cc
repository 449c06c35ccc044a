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

}  // namespace
}  // namespace nines::test
