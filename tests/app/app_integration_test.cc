// `nines app` as real processes against a real 3-member `nines store` group
// (store members on 127.0.160.21, 127.0.161.21, 127.0.162.21; apps on
// 127.0.160.11 and 127.0.161.11): orders through two apps, idempotency keys,
// listing, a store leader SIGKILLed while POSTing (every POST succeeds, no
// duplicate), /healthz following the store, and the SIGTERM drain.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::test {
namespace {

std::string Host(int net, int last) {
  return "127.0." + std::to_string(net) + "." + std::to_string(last);
}

// Three store members, one per "region" address 127.0.16N.21. A write the
// leader cannot commit within request_timeout_ms is answered "outcome unknown".
class StoreGroup {
 public:
  explicit StoreGroup(const std::string& name, int request_timeout_ms = 1000) {
    dir_ = TestDir("app_" + name);
    for (int i = 0; i < 3; ++i) {
      hosts_.push_back(Host(160 + i, 21));
    }
    for (int i = 0; i < 3; ++i) {
      std::string id = "s" + std::to_string(i + 1);
      std::string text = "id = \"" + id + "\"\ndata_dir = \"" + dir_ + "/" + id + "\"\n";
      text += "client = \"" + Client(i) + "\"\nhttp = \"" + Http(i) + "\"\npeer = \"" + Peer(i) +
              "\"\nheartbeat_ms = 50\nelection_ms = 300\nrequest_timeout_ms = " +
              std::to_string(request_timeout_ms) + "\n";
      for (int j = 0; j < 3; ++j) {
        text += "[[member]]\nid = \"s" + std::to_string(j + 1) + "\"\npeer = \"" + Peer(j) +
                "\"\nclient = \"" + Client(j) + "\"\nhttp = \"" + Http(j) + "\"\n";
      }
      configs_.push_back(dir_ + "/" + id + ".toml");
      WriteFile(configs_.back(), text);
    }
    processes_.resize(3);
  }
  std::string Client(int i) const { return hosts_[i] + ":16390"; }
  std::string Http(int i) const { return hosts_[i] + ":17390"; }
  std::string Peer(int i) const { return hosts_[i] + ":18390"; }
  void Start(int i) {
    processes_[i] =
        ChildProcess({NinesBinary(), "store", "--config", configs_[i]},
                     dir_ + "/s" + std::to_string(i + 1) + ".log." + std::to_string(++starts_));
  }
  void StartAll() {
    for (int i = 0; i < 3; ++i) Start(i);
  }
  void Kill(int i) { processes_[i].Stop(SIGKILL, 3000); }
  // The member that calls itself leader and that the others follow, or -1.
  int Leader() {
    int leader = -1;
    std::set<std::string> named;
    for (int i = 0; i < 3; ++i) {
      if (!processes_[i].running()) continue;
      http::ClientResponse r =
          http::Get(hosts_[i], 17390, "/status", http::ClientOptions().Timeout(500));
      if (!r.ok || r.status != 200) continue;
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (j.is_discarded()) continue;
      if (j["role"] == "leader") leader = i;
      if (j["leader"].is_string()) named.insert(j["leader"].get<std::string>());
    }
    if (leader < 0 || named.size() != 1) return -1;
    return *named.begin() == "s" + std::to_string(leader + 1) ? leader : -1;
  }
  int WaitLeader() {
    int leader = -1;
    WaitUntil([&] { return (leader = Leader()) >= 0; }, 15000, 20);
    return leader;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::string> hosts_;
  std::vector<std::string> configs_;
  std::vector<ChildProcess> processes_;
  int starts_ = 0;
};

struct App {
  std::string host;
  int port = 18081;
  ChildProcess process;
};

// Starts `nines app` on 127.0.N.11:18081 with the store members in `order`.
void StartApp(App* app, const StoreGroup& g, int net, const std::vector<int>& order,
              int store_timeout_ms, int drain_linger_ms = 0) {
  app->host = Host(net, 11);
  std::string name = "app-" + std::to_string(net);
  std::string text = "name = \"" + name + "\"\nregion = \"r" + std::to_string(net) +
                     "\"\nlisten = \"" + app->host + ":" + std::to_string(app->port) +
                     "\"\nstore = [";
  for (size_t i = 0; i < order.size(); ++i) {
    text += (i ? ", \"" : "\"") + g.Client(order[i]) + "\"";
  }
  text += "]\nstore_timeout_ms = " + std::to_string(store_timeout_ms) +
          "\ndrain_ms = 5000\ndrain_linger_ms = " + std::to_string(drain_linger_ms) +
          "\nmax_connections = 64\n";
  std::string config = g.dir() + "/" + name + ".toml";
  WriteFile(config, text);
  app->process =
      ChildProcess({NinesBinary(), "app", "--config", config}, g.dir() + "/" + name + ".log");
}

bool Healthy(const App& a) {
  http::ClientResponse r =
      http::Get(a.host, a.port, "/healthz", http::ClientOptions().Timeout(1000));
  return r.ok && r.status == 200;
}

http::ClientResponse Post(const App& a, const std::string& body, const std::string& key = "",
                          int timeout_ms = 10000) {
  std::string raw = "POST /orders HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\n";
  if (!key.empty()) raw += "Idempotency-Key: " + key + "\r\n";
  raw += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  return http::Exchange(a.host, a.port, raw, "POST", timeout_ms);
}

nlohmann::json Json(const http::ClientResponse& r) {
  return nlohmann::json::parse(r.body, nullptr, false);
}

TEST(AppIntegration, OrdersThroughTwoAppsSurviveLeaderKill) {
  // Every POST around the leader kill must commit: through the election, and
  // through a follower that misses heartbeats for a moment (ThreadSanitizer on
  // a loaded machine) and calls a pre-vote. 4 s, inside the apps' 5 s budget,
  // so the store still answers before the app gives up.
  StoreGroup g("orders", 4000);
  g.StartAll();
  ASSERT_GE(g.WaitLeader(), 0) << "no store leader";
  App a, b;
  StartApp(&a, g, 160, {0, 1, 2}, 5000);
  StartApp(&b, g, 161, {1, 2, 0}, 5000);
  ASSERT_TRUE(WaitUntil([&] { return Healthy(a) && Healthy(b); }, 10000))
      << a.process.Log() << b.process.Log();

  // GET / names app and region.
  http::ClientResponse root = http::Get(a.host, a.port, "/");
  EXPECT_EQ(root.status, 200);
  EXPECT_EQ(Json(root)["app"], "app-160");
  EXPECT_EQ(Json(root)["region"], "r160");

  // Created through A, read through B.
  http::ClientResponse created = Post(a, R"({"item":"book","qty":2})", "order-1");
  ASSERT_EQ(created.status, 201) << created.body;
  nlohmann::json order = Json(created);
  std::string id1 = order["id"];
  EXPECT_EQ(id1.rfind("o-", 0), 0u) << id1;  // random, not the key
  EXPECT_EQ(order["app"], "app-160");
  EXPECT_EQ(order["order"]["item"], "book");
  http::ClientResponse read = http::Get(b.host, b.port, "/orders/" + id1);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(Json(read), order);

  // The same key again, through either app: the same order, 200.
  for (App* app : {&b, &a}) {
    http::ClientResponse again = Post(*app, R"({"item":"book","qty":2})", "order-1");
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(Json(again), order);
  }
  // Without a key every POST is a new order.
  http::ClientResponse anonymous = Post(b, R"({"item":"pen"})");
  ASSERT_EQ(anonymous.status, 201);
  std::string anonymous_id = Json(anonymous)["id"];
  EXPECT_EQ(anonymous_id.rfind("o-", 0), 0u);
  EXPECT_NE(anonymous_id, id1);

  // Listing, newest first.
  http::ClientResponse list = http::Get(a.host, a.port, "/orders?limit=2");
  ASSERT_EQ(list.status, 200);
  nlohmann::json orders = Json(list)["orders"];
  ASSERT_EQ(orders.size(), 2u) << list.body;
  EXPECT_EQ(orders[0]["id"], anonymous_id);
  EXPECT_EQ(orders[1]["id"], id1);
  EXPECT_EQ(Json(http::Get(a.host, a.port, "/orders?limit=1"))["orders"].size(), 1u);

  // Bad input.
  EXPECT_EQ(http::Get(a.host, a.port, "/orders?limit=0").status, 400);
  EXPECT_EQ(http::Get(a.host, a.port, "/orders?limit=101").status, 400);
  EXPECT_EQ(http::Get(a.host, a.port, "/orders/k-nothing").status, 404);
  EXPECT_EQ(Post(a, "{not json").status, 400);
  EXPECT_EQ(Post(a, "[1]").status, 400);
  EXPECT_EQ(Post(a, "{}", "bad key!").status, 400);
  EXPECT_EQ(Post(a, "{\"a\":\"" + std::string(70000, 'x') + "\"}").status, 413);

  // Status and metrics.
  http::ClientResponse status = http::Get(a.host, a.port, "/status");
  ASSERT_EQ(status.status, 200);
  nlohmann::json s = Json(status);
  EXPECT_EQ(s["healthy"], true);
  EXPECT_EQ(s["store"]["members"].size(), 3u);
  http::ClientResponse metrics = http::Get(a.host, a.port, "/metrics");
  EXPECT_NE(metrics.body.find("nines_app_orders_created_total 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("nines_app_store_pending_limit 4096"), std::string::npos);
  EXPECT_NE(metrics.body.find("nines_app_http_max_connections 64"), std::string::npos);
  EXPECT_NE(metrics.body.find("nines_http_accept_errors_total{listen=\"" + a.host + ":" +
                              std::to_string(a.port) + "\"} 0"),
            std::string::npos)
      << metrics.body;

  // POSTs through both apps while the store leader is SIGKILLed.
  const int kBefore = 15;
  const int kAfter = 25;
  std::atomic<int> sent{0};
  std::vector<std::string> failures;
  std::map<std::string, std::string> ids;  // key -> id
  std::thread writer([&] {
    for (int i = 0; i < kBefore + kAfter; ++i) {
      std::string key = "kill-" + std::to_string(i);
      App& app = i % 2 ? b : a;
      int64_t start = SteadyMs();
      http::ClientResponse r = Post(app, "{\"n\":" + std::to_string(i) + "}", key, 15000);
      int64_t took = SteadyMs() - start;
      if (r.status != 201) {
        failures.push_back(key + ": " + std::to_string(r.status) + " " + r.body + r.error);
      } else {
        ids[key] = Json(r)["id"];
      }
      if (took > 300)
        std::printf("POST %s took %lld ms\n", key.c_str(), static_cast<long long>(took));
      sent = i + 1;
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return sent.load() >= kBefore; }, 20000));
  int leader = g.Leader();
  ASSERT_GE(leader, 0);
  g.Kill(leader);
  writer.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures[0];
  EXPECT_EQ(ids.size(), static_cast<size_t>(kBefore + kAfter));

  // No duplicate: every key exactly once in the listing, and nothing else.
  http::ClientResponse all =
      http::Get(b.host, b.port, "/orders?limit=100", http::ClientOptions().Timeout(10000));
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_FALSE(Json(all).is_discarded()) << all.body.substr(0, 2000);
  nlohmann::json listed = Json(all);
  std::map<std::string, int> count;
  for (const auto& o : listed["orders"]) count[o["id"].get<std::string>()]++;
  EXPECT_EQ(count.size(), static_cast<size_t>(kBefore + kAfter + 2));
  for (const auto& [id, n] : count) EXPECT_EQ(n, 1) << id;
  for (const auto& [key, id] : ids) EXPECT_EQ(count[id], 1) << key;
  // A retried POST of a key from before the kill is still the same order.
  http::ClientResponse replay = Post(b, "{\"n\":0}", "kill-0");
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(Json(replay)["id"], ids["kill-0"]);

  EXPECT_EQ(a.process.Stop(SIGTERM, 8000), 0) << a.process.Log();
  EXPECT_EQ(b.process.Stop(SIGTERM, 8000), 0) << b.process.Log();
}

TEST(AppIntegration, HealthzFollowsTheStoreAndSigtermDrains) {
  StoreGroup g("health");
  g.StartAll();
  ASSERT_GE(g.WaitLeader(), 0);
  App a;
  StartApp(&a, g, 162, {2, 0, 1}, 1500, 1000);
  ASSERT_TRUE(WaitUntil([&] { return Healthy(a); }, 10000)) << a.process.Log();
  http::ClientResponse first = Post(a, "{}", "h-1");
  ASSERT_EQ(first.status, 201);
  std::string first_id = Json(first)["id"];

  // Every store member down: 503 from /healthz and from the API.
  for (int i = 0; i < 3; ++i) g.Kill(i);
  EXPECT_TRUE(WaitUntil([&] { return http::Get(a.host, a.port, "/healthz").status == 503; }, 8000));
  http::ClientResponse down = Post(a, "{}", "h-2");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(Json(down)["error"], "store unavailable");

  // Back: 200 again, and the API works.
  g.StartAll();
  EXPECT_TRUE(WaitUntil([&] { return Healthy(a); }, 15000));
  ASSERT_GE(g.WaitLeader(), 0);
  http::ClientResponse up = Post(a, "{}", "h-2");
  EXPECT_EQ(up.status, 201) << up.body;
  EXPECT_EQ(http::Get(a.host, a.port, "/orders/" + first_id).status, 200);

  // SIGTERM with a request in flight (waiting for a store that is gone):
  // /healthz turns 503 at once, the request gets its answer, exit 0.
  for (int i = 0; i < 3; ++i) g.Kill(i);
  http::ClientResponse in_flight;
  std::thread client([&] { in_flight = Post(a, "{}", "h-3"); });
  ASSERT_TRUE(WaitUntil(
      [&] {
        http::ClientResponse m = http::Get(a.host, a.port, "/metrics");
        return m.body.find("nines_app_in_flight 2") != std::string::npos;
      },
      5000));
  a.process.Signal(SIGTERM);
  // drain_linger_ms = 1000 keeps it serving (503) for at least a second.
  EXPECT_TRUE(WaitUntil(
      [&] {
        http::ClientResponse h = http::Get(a.host, a.port, "/healthz");
        return h.status == 503 && h.body.find("draining") != std::string::npos;
      },
      800));
  client.join();
  EXPECT_TRUE(in_flight.ok);
  EXPECT_EQ(in_flight.status, 503);
  EXPECT_EQ(a.process.Wait(8000), 0) << a.process.Log();
}

}  // namespace
}  // namespace nines::test
