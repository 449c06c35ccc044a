// The dashboard's headroom: the N+1 warning from posted figures and the
// current load, POST /api/capacity, and the figures kept in the run directory.
#include "up/headroom.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "up/api.h"

namespace nines::up {
namespace {

using nlohmann::json;

drill::CapacityFigures Figures() {
  drill::CapacityFigures f;
  f.whole_per_s = 3000;
  f.regions = {{"us-east", 1500}, {"us-west", 1000}, {"eu-west", 1200}};
  return f;
}

TEST(HeadroomJson, NotMeasuredWithoutFigures) {
  json j = HeadroomJson(std::nullopt, 12);
  EXPECT_FALSE(j["measured"]);
  EXPECT_EQ(j["current_rps"], 12);
}

TEST(HeadroomJson, WarnsWhenTheSurvivorsOfTheWorstLossCannotCarryTheLoad) {
  // Losing us-east leaves 1000 + 1200 = 2200.
  json ok = HeadroomJson(Figures(), 2200);
  EXPECT_TRUE(ok["measured"]);
  EXPECT_EQ(ok["worst_region"], "us-east");
  EXPECT_EQ(ok["survivors_per_s"], 2200);
  EXPECT_FALSE(ok["overload_if_lost"]);
  json over = HeadroomJson(Figures(), 2201);
  EXPECT_TRUE(over["overload_if_lost"]);
  EXPECT_EQ(over["whole_per_s"], 3000);
  EXPECT_EQ(over["regions"].size(), 3u);
}

TEST(Headroom, KeepsTheFiguresInItsFileForTheNextRun) {
  std::string dir = ::testing::TempDir() + "/headroom_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string path = dir + "/capacity.json";
  {
    Headroom h(path);
    EXPECT_FALSE(h.Get());
    EXPECT_TRUE(h.Set(Figures()).ok());
  }
  Headroom again(path);
  ASSERT_TRUE(again.Get());
  EXPECT_EQ(again.Get()->whole_per_s, 3000);
  EXPECT_EQ(again.Get()->regions[2].name, "eu-west");
}

struct HeadroomApi : ::testing::Test {
  Blueprint bp = BuiltInBlueprint();
  Supervisor supervisor{ExpandBlueprint(bp, "/nonexistent/run"), "/nonexistent/run"};
  StatePoller poller{&supervisor};
  Isolation isolation;
  Spike spike;
  MetricsRegistry metrics;
  Headroom headroom{""};
  UpContext ctx{&bp,      &supervisor, &poller, &isolation, &spike,
                &metrics, 1234,        "token", nullptr,    &headroom};

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "", const std::string& token = "token") {
    http::Request req;
    req.method = method;
    req.target = path;
    req.path = path;
    req.headers = {{"Host", "127.0.0.1:9900"},
                   {"Content-Type", "application/json"},
                   {"Authorization", "Bearer " + token}};
    req.body = body;
    return HandleUpRequest(ctx, req);
  }
};

TEST_F(HeadroomApi, PostedFiguresShowInTheState) {
  json before = json::parse(Call("GET", "/api/state").body);
  EXPECT_FALSE(before["capacity"]["measured"]);
  http::Response r = Call("POST", "/api/capacity", drill::CapacityToJson(Figures()).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json after = json::parse(Call("GET", "/api/state").body);
  EXPECT_TRUE(after["capacity"]["measured"]);
  EXPECT_EQ(after["capacity"]["worst_region"], "us-east");
  EXPECT_EQ(after["capacity"]["current_rps"], 0);
  EXPECT_FALSE(after["capacity"]["overload_if_lost"]);
}

TEST_F(HeadroomApi, RefusesMalformedFiguresAndMissingToken) {
  EXPECT_EQ(Call("POST", "/api/capacity", R"({"whole_per_s":"lots"})").status, 400);
  EXPECT_EQ(Call("POST", "/api/capacity", "not json").status, 400);
  EXPECT_EQ(Call("POST", "/api/capacity", drill::CapacityToJson(Figures()).dump(), "wrong").status,
            401);
  EXPECT_FALSE(headroom.Get());
}

}  // namespace
}  // namespace nines::up
