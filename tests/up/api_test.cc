// The dashboard API without processes: routing, JSON shape, errors; the lb
// metrics parser and the restart backoff.
#include "up/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/wait.h"

namespace nines::up {
namespace {

using nlohmann::json;

struct ApiFixture : ::testing::Test {
  Blueprint bp = BuiltInBlueprint();
  Supervisor supervisor{ExpandBlueprint(bp, "/nonexistent/run"), "/nonexistent/run"};
  StatePoller poller{&supervisor};
  Isolation isolation;
  Spike spike;
  MetricsRegistry metrics;
  static constexpr const char* kToken = "test-admin-token";
  UpContext ctx{&bp, &supervisor, &poller, &isolation, &spike, &metrics, 1234, kToken};
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // The headers of the dashboard's own page: its Host, JSON, the token.
  static Headers OwnHeaders() {
    return {{"Host", "127.0.0.1:9900"},
            {"Content-Type", "application/json"},
            {"Authorization", std::string("Bearer ") + kToken}};
  }
  static Headers Without(Headers h, const std::string& name) {
    std::erase_if(h, [&](const auto& kv) { return kv.first == name; });
    return h;
  }
  static Headers With(Headers h, const std::string& name, const std::string& value) {
    h = Without(std::move(h), name);
    h.emplace_back(name, value);
    return h;
  }
  // A request as the dashboard's own page sends it.
  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "") {
    return CallWith(method, path, OwnHeaders(), body);
  }
  http::Response CallWith(const std::string& method, const std::string& path, Headers headers,
                          const std::string& body = "") {
    http::Request req;
    req.method = method;
    req.target = path;
    req.path = path;
    req.headers = std::move(headers);
    req.body = body;
    return HandleUpRequest(ctx, req);
  }
  std::string StateOf(const std::string& node) {
    json s = json::parse(Call("GET", "/api/state").body);
    for (const json& n : s["nodes"]) {
      if (n["name"] == node) return n["state"];
    }
    return "";
  }
};

TEST_F(ApiFixture, StateListsEveryNodeAndRegion) {
  http::Response r = Call("GET", "/api/state");
  ASSERT_EQ(r.status, 200);
  json s = json::parse(r.body);
  EXPECT_EQ(s["started_ms"], 1234);
  ASSERT_EQ(s["nodes"].size(), 20u);
  EXPECT_EQ(s["nodes"][0]["name"], "dns-1");
  EXPECT_EQ(s["nodes"][0]["kind"], "dns");
  EXPECT_EQ(s["nodes"][2]["name"], "us-east-lb-1");
  EXPECT_EQ(s["nodes"][2]["admin"], "127.0.1.1:9901");
  EXPECT_EQ(s["nodes"][3]["name"], "us-east-lb-2");
  EXPECT_EQ(s["nodes"][3]["kind"], "lb");
  EXPECT_EQ(s["nodes"][3]["address"], "127.0.1.2:8080");
  EXPECT_EQ(s["regions"].size(), 3u);
  EXPECT_EQ(s["regions"][1]["prefix"], "127.0.2");
  EXPECT_TRUE(s["store"]["leader"].is_null());
  EXPECT_TRUE(s["lbs"].is_array());
}

TEST_F(ApiFixture, ActionsAndErrors) {
  EXPECT_EQ(Call("POST", "/api/nodes/nope/kill").status, 404);
  EXPECT_EQ(Call("POST", "/api/nodes/us-east-app-1/explode").status, 404);
  EXPECT_EQ(Call("POST", "/api/regions/mars/stop").status, 404);
  EXPECT_EQ(Call("POST", "/api/spike", "[1").status, 400);
  EXPECT_EQ(Call("POST", "/api/spike", R"({"rate":0})").status, 400);
  EXPECT_EQ(Call("POST", "/api/spike", R"({"region":"mars"})").status, 404);
  EXPECT_EQ(Call("POST", "/api/nodes/dns-1/isolate").status, 409);  // 127.0.0.1
  EXPECT_EQ(Call("DELETE", "/api/state").status, 405);
  EXPECT_EQ(Call("GET", "/nothing").status, 404);
  // Nothing runs here: a kill has nothing to kill (409); a region stop holds
  // the region's nodes down all the same, and a restart releases them.
  EXPECT_EQ(Call("POST", "/api/nodes/us-west-app-2/kill").status, 409);
  EXPECT_EQ(Call("POST", "/api/regions/eu-west/stop").status, 200);
  json s = json::parse(Call("GET", "/api/state").body);
  for (const json& n : s["nodes"]) {
    bool held = n["region"] == "eu-west";
    EXPECT_EQ(n["state"], held ? "stopped" : "crashed") << n.dump();
  }
  EXPECT_FALSE(s["regions"][2]["up"]);
  EXPECT_TRUE(s["regions"][1]["up"]);
  EXPECT_EQ(Call("POST", "/api/nodes/us-west-app-2/restart").status, 200);
  EXPECT_EQ(Call("POST", "/api/regions/eu-west/start").status, 200);
  s = json::parse(Call("GET", "/api/state").body);
  for (const json& n : s["nodes"]) EXPECT_EQ(n["state"], "crashed") << n.dump();
}

// The slow fault's body is checked before the node's state; a slow of a node
// not running is refused (409) like a kill; fast has nothing to undo (200).
TEST_F(ApiFixture, SlowParametersAreValidated) {
  const std::string slow = "/api/nodes/us-east-app-1/slow";
  EXPECT_EQ(Call("POST", slow, "[1").status, 400);
  EXPECT_EQ(Call("POST", slow, R"({"stop_ms":500,"period_ms":500})").status, 400);
  EXPECT_EQ(Call("POST", slow, R"({"period_ms":50})").status, 400);
  EXPECT_EQ(Call("POST", slow, R"({"stop_ms":0})").status, 400);
  EXPECT_EQ(Call("POST", slow, R"({"for_ms":-1})").status, 400);
  EXPECT_EQ(Call("POST", slow, R"({"for_ms":1.5})").status, 400);
  http::Response r = Call("POST", slow, R"({"for_ms":1000})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("not running"), std::string::npos) << r.body;
  EXPECT_EQ(Call("POST", "/api/nodes/us-east-app-1/fast").status, 200);
  EXPECT_EQ(Call("POST", "/api/nodes/nope/slow").status, 404);
}

// A past attack: a cross-site form post killed a process. `curl -X POST -H 'Origin:
// https://evil.example' -H 'Content-Type: application/x-www-form-urlencoded'
// -d x=1 127.0.0.1:9900/api/nodes/us-east-app-3/kill` must be refused and
// change nothing. Each case changes one thing of a request that passes.
TEST_F(ApiFixture, CrossSiteFormPostIsRefused) {
  EXPECT_EQ(Call("POST", "/api/regions/us-west/stop").status, 200);  // us-west-app-* held down
  std::string before = StateOf("us-east-app-3");
  http::Response r = CallWith("POST", "/api/nodes/us-east-app-3/kill",
                              {{"Host", "127.0.0.1:9900"},
                               {"Origin", "https://evil.example"},
                               {"Content-Type", "application/x-www-form-urlencoded"}},
                              "x=1");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(StateOf("us-east-app-3"), before) << "the refused kill changed the node";
  struct Case {
    const char* what;
    Headers headers;
    int status;
  };
  const std::vector<Case> cases = {
      {"foreign Origin", With(OwnHeaders(), "Origin", "https://evil.example"), 403},
      {"Origin null (sandboxed page)", With(OwnHeaders(), "Origin", "null"), 403},
      {"form content type", With(OwnHeaders(), "Content-Type", "application/x-www-form-urlencoded"),
       415},
      {"text/plain (a no-cors fetch)", With(OwnHeaders(), "Content-Type", "text/plain"), 415},
      {"no content type", Without(OwnHeaders(), "Content-Type"), 415},
      {"no token (what a form sends)", Without(OwnHeaders(), "Authorization"), 401},
      {"wrong token", With(OwnHeaders(), "Authorization", "Bearer guess"), 401},
      {"Basic instead of Bearer", With(OwnHeaders(), "Authorization", "Basic dA=="), 401},
      {"DNS-rebound Host", With(OwnHeaders(), "Host", "evil.example:9900"), 403},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CallWith("POST", "/api/regions/us-east/stop", c.headers).status, c.status) << c.what;
    EXPECT_EQ(CallWith("POST", "/api/nodes/us-west-app-1/restart", c.headers).status, c.status)
        << c.what;
    EXPECT_EQ(StateOf("us-east-app-3"), before) << c.what << ": the region stop was done";
    EXPECT_EQ(StateOf("us-west-app-1"), "stopped") << c.what << ": the restart was done";
  }
  // The 401 says how to authenticate.
  http::Response unauthorized =
      CallWith("POST", "/api/regions/us-east/stop", Without(OwnHeaders(), "Authorization"));
  bool challenged = false;
  for (const auto& [name, value] : unauthorized.headers) {
    challenged = challenged || (name == "WWW-Authenticate" && value.rfind("Bearer", 0) == 0);
  }
  EXPECT_TRUE(challenged) << "401 without WWW-Authenticate: Bearer";
  // The page's own origin, with JSON and the token, passes the guard: the kill
  // reaches the supervisor (409: nothing runs in this fixture), the region
  // stop is done.
  Headers own = With(OwnHeaders(), "Origin", "http://127.0.0.1:9900");
  own = With(own, "Content-Type", "application/json; charset=utf-8");
  EXPECT_EQ(CallWith("POST", "/api/nodes/us-east-app-3/kill", own).status, 409);
  EXPECT_EQ(CallWith("POST", "/api/regions/us-east/stop", own).status, 200);
  EXPECT_EQ(StateOf("us-east-app-3"), "stopped");
  EXPECT_EQ(CallWith("POST", "/api/nodes/us-west-app-1/restart", own).status, 200);
  EXPECT_EQ(StateOf("us-west-app-1"), "crashed");  // released (nothing to run here)
}

// DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1
// sends `Host: evil.example:9900`. Only the dashboard's own address (and
// localhost, as it listens on loopback) is served.
TEST_F(ApiFixture, ForeignHostIsRefused) {
  EXPECT_EQ(CallWith("GET", "/api/state", {{"Host", "evil.example:9900"}}).status, 403);
  EXPECT_EQ(CallWith("GET", "/", {{"Host", "evil.example:9900"}}).status, 403);
  EXPECT_EQ(CallWith("GET", "/api/state", {}).status, 403) << "no Host";
  EXPECT_EQ(CallWith("GET", "/api/state", {{"Host", "127.0.0.1:9999"}}).status, 403)
      << "another port";
  EXPECT_EQ(CallWith("GET", "/api/state", {{"Host", "127.0.0.2:9900"}}).status, 403)
      << "another address";
  EXPECT_EQ(CallWith("GET", "/api/state", {{"Host", "localhost:9900"}}).status, 200);
  EXPECT_EQ(CallWith("GET", "/api/state", {{"Host", "127.0.0.1:9900"}}).status, 200);
  EXPECT_EQ(CallWith("GET", "/api/state",
                     {{"Host", "127.0.0.1:9900"}, {"Origin", "https://evil.example"}})
                .status,
            403)
      << "a cross-origin read";
  EXPECT_EQ(CallWith("GET", "/healthz", {{"Host", "evil.example"}}).status, 200)
      << "health checks answer any Host";
}

TEST_F(ApiFixture, PageStatusAndMetrics) {
  http::Response page = Call("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("/api/state"), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos);  // nothing external
  EXPECT_EQ(page.body.find("https://"), std::string::npos);
  RegisterUpMetrics(ctx);
  json status = json::parse(Call("GET", "/status").body);
  EXPECT_EQ(status["nodes"], 20);
  std::string m = Call("GET", "/metrics").body;
  EXPECT_NE(m.find("nines_up_nodes{state=\"running\"} 0"), std::string::npos) << m;
  EXPECT_NE(m.find("nines_up_restarts_total{node=\"us-east-store\"} 0"), std::string::npos);
}

TEST(LbMetricsTest, SumsRequestsErrorsAndLimits) {
  LbCounters c = ParseLbMetrics(
      "# HELP nines_lb_requests_total x\n"
      "nines_lb_requests_total 120\n"
      "nines_lb_local_responses_total{code=\"4xx\"} 7\n"
      "nines_lb_local_responses_total{code=\"5xx\"} 3\n"
      "nines_lb_server_responses_total{server=\"a\",code=\"5xx\"} 2\n"
      "nines_lb_server_responses_total{server=\"a\",code=\"2xx\"} 90\n"
      "nines_lb_rate_limited_total{scope=\"client\"} 10\n"
      "nines_lb_rate_limited_total{scope=\"global\"} 1\n"
      "garbage\n");
  EXPECT_EQ(c.requests, 120);
  EXPECT_EQ(c.errors, 5);
  EXPECT_EQ(c.rate_limited, 11);
}

TEST(BackoffTest, DoublesUpToACap) {
  EXPECT_EQ(RestartBackoffMs(1), 250);
  EXPECT_EQ(RestartBackoffMs(2), 500);
  EXPECT_EQ(RestartBackoffMs(3), 1000);
  EXPECT_EQ(RestartBackoffMs(6), 8000);
  EXPECT_EQ(RestartBackoffMs(50), 8000);
}

// Bug 9: spike parameters are validated, not truncated (4294967297 is not 1,
// 2.9 is not 2). The region is moved to this test's own 127.0.189.x so that
// a spike started by mistake hits nothing of the blueprint's.
TEST_F(ApiFixture, SpikeParametersAreValidated) {
  bp.regions[0].prefix = "127.0.189";
  for (const char* body :
       {R"({"rate":4294967297})", R"({"rate":2.9})", R"({"rate":-1})", R"({"rate":"10"})",
        R"({"seconds":4294967297})", R"({"seconds":1.5})", R"({"rate":1e3})", R"({"region":7})"}) {
    http::Response r = Call("POST", "/api/spike", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  EXPECT_FALSE(spike.Status().running);
  EXPECT_EQ(spike.Status().sent, 0);
}

// Bug 9: the state reports the rate the spike achieved beside the one asked for.
TEST_F(ApiFixture, SpikeReportsTheAchievedRate) {
  bp.regions[0].prefix = "127.0.189";  // nothing listens there: every request fails fast
  ASSERT_EQ(Call("POST", "/api/spike", R"({"rate":20,"seconds":1})").status, 200);
  ASSERT_TRUE(test::WaitUntil([&] { return !spike.Status().running; }, 10000));
  json s = json::parse(Call("GET", "/api/state").body)["spike"];
  EXPECT_EQ(s["rate"], 20);
  ASSERT_TRUE(s.contains("achieved_rate")) << s.dump();
  double achieved = s["achieved_rate"].get<double>();
  EXPECT_GT(achieved, 0);
  EXPECT_LE(achieved, 20 * 1.2);
  EXPECT_GT(s["sent"].get<int>(), 0);
}

}  // namespace
}  // namespace nines::up
