// The app's HTTP behaviour against an in-memory fake store (no Raft, no
// processes): idempotency by draft-ietf-httpapi-idempotency-key-header,
// listing through sequence gaps, unknown outcomes, readiness, and the
// takeover of a dead app's idempotency claim (a second app as a `nines app`
// process). Each test has its own ports on 127.0.188.x.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/app_server.h"
#include "fake_store.h"
#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::app {
namespace {

using nlohmann::json;

constexpr const char* kAppHost = "127.0.188.1";
constexpr const char* kStoreHost = "127.0.188.2";
constexpr const char* kChildHost = "127.0.188.3";

// A fake store and one app on its own thread; SIGTERM (caught by the app's
// signal set) drains and stops it.
struct AppHarness {
  int port;
  FakeStore store;
  std::unique_ptr<AppServer> app;
  std::thread thread;

  explicit AppHarness(int port_base, int store_timeout_ms = 1500)
      : port(port_base), store(kStoreHost, port_base + 1) {
    AppConfig c;
    c.name = "test-app";
    c.region = "test";
    c.listen = Endpoint{kAppHost, static_cast<uint16_t>(port)};
    c.store = {Endpoint{kStoreHost, static_cast<uint16_t>(port_base + 1)}};
    c.store_timeout_ms = store_timeout_ms;
    c.drain_ms = 2000;
    c.health_interval_ms = 100;
    app = std::make_unique<AppServer>(c);
    app->Start();
    thread = std::thread([this] { app->Run(); });
  }
  ~AppHarness() {
    store.Release();
    ::kill(::getpid(), SIGTERM);
    thread.join();
  }

  http::ClientResponse Post(const std::string& body, const std::string& headers = "",
                            int timeout_ms = 5000) const {
    return http::Exchange(kAppHost, port,
                          "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n" + headers + "\r\n" + body,
                          "POST", timeout_ms);
  }
  http::ClientResponse Get(const std::string& path) const {
    return http::Get(kAppHost, port, path);
  }
};

std::string Show(const http::ClientResponse& r) {
  return r.ok ? std::to_string(r.status) + " " + r.body : "no answer: " + r.error;
}

// Another app, as a `nines app` process on kChildHost:port, sharing the
// harness's fake store (listening on store_port): one that can be SIGKILLed.
struct ChildApp {
  int port;
  test::ChildProcess process;

  ChildApp(const std::string& name, int port_, int store_port, int store_timeout_ms = 3000)
      : port(port_) {
    std::string dir = test::TestDir("app_server_" + name);
    std::string config = dir + "/app.toml";
    test::WriteFile(config, "name = \"" + name + "\"\nregion = \"test\"\nlisten = \"" +
                                std::string(kChildHost) + ":" + std::to_string(port) +
                                "\"\nstore = [\"" + kStoreHost + ":" + std::to_string(store_port) +
                                "\"]\nstore_timeout_ms = " + std::to_string(store_timeout_ms) +
                                "\nhealth_interval_ms = 100\n");
    process =
        test::ChildProcess({test::NinesBinary(), "app", "--config", config}, dir + "/app.log");
  }
  bool Live() const { return http::Get(kChildHost, port, "/livez").status == 200; }
  http::ClientResponse Post(const std::string& body, const std::string& headers,
                            int timeout_ms = 8000) const {
    return http::Exchange(kChildHost, port,
                          "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n" + headers + "\r\n" + body,
                          "POST", timeout_ms);
  }
};

TEST(AppServer, EmptyIdempotencyKeyIs400) {
  AppHarness h(18801);
  ASSERT_TRUE(h.store.bound());
  for (const char* header : {"Idempotency-Key:\r\n", "Idempotency-Key:    \r\n"}) {
    http::ClientResponse r = h.Post(R"({"item":"book"})", header);
    EXPECT_EQ(r.status, 400) << header << " -> " << Show(r);
  }
  EXPECT_EQ(h.store.CountPrefix("order:"), 0u);
}

// Bug 5 (draft-ietf-httpapi-idempotency-key-header): the same key with
// another body is 422, never the first order.
TEST(AppServer, SameKeyDifferentBodyIs422) {
  AppHarness h(18803);
  http::ClientResponse first = h.Post(R"({"item":"book"})", "Idempotency-Key: k1\r\n");
  ASSERT_EQ(first.status, 201) << Show(first);
  http::ClientResponse again = h.Post(R"({"item":"book"})", "Idempotency-Key: k1\r\n");
  EXPECT_EQ(again.status, 200) << Show(again);
  EXPECT_EQ(again.body, first.body);
  http::ClientResponse other = h.Post(R"({"item":"car"})", "Idempotency-Key: k1\r\n");
  EXPECT_EQ(other.status, 422) << Show(other);
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
}

// Bug 5: a request whose key is still in flight gets 409 at once.
TEST(AppServer, ConcurrentSameKeyIs409) {
  AppHarness h(18805, 3000);
  h.store.HoldWrites("order:");
  http::ClientResponse first;
  std::thread t([&] { first = h.Post(R"({"item":"book"})", "Idempotency-Key: busy\r\n", 8000); });
  ASSERT_TRUE(test::WaitUntil([&] { return h.store.held() > 0; }, 5000));
  http::ClientResponse second = h.Post(R"({"item":"book"})", "Idempotency-Key: busy\r\n", 8000);
  EXPECT_EQ(second.status, 409) << Show(second);
  h.store.Release();
  t.join();
  EXPECT_EQ(first.status, 201) << Show(first);
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
}

// Bug 5: keys are scoped per client (the Authorization credential): another
// client's same key makes its own order, and an order cannot be read by
// guessing the key it was made with.
TEST(AppServer, KeysAreScopedPerClient) {
  AppHarness h(18807);
  http::ClientResponse a =
      h.Post(R"({"item":"book"})", "Authorization: Bearer alice\r\nIdempotency-Key: k\r\n");
  ASSERT_EQ(a.status, 201) << Show(a);
  http::ClientResponse b =
      h.Post(R"({"item":"book"})", "Authorization: Bearer bob\r\nIdempotency-Key: k\r\n");
  ASSERT_EQ(b.status, 201) << Show(b);
  std::string id_a = json::parse(a.body)["id"];
  std::string id_b = json::parse(b.body)["id"];
  EXPECT_NE(id_a, id_b);
  // Alice's replay is still hers.
  http::ClientResponse a2 =
      h.Post(R"({"item":"book"})", "Authorization: Bearer alice\r\nIdempotency-Key: k\r\n");
  EXPECT_EQ(a2.status, 200) << Show(a2);
  EXPECT_EQ(json::parse(a2.body)["id"], id_a);
  // The key does not name the order.
  EXPECT_EQ(h.Get("/orders/k-k").status, 404);
  EXPECT_EQ(h.Get("/orders/" + id_a).status, 200);
}

// Bug 1: requests that lose a same-key race do not take sequence numbers.
TEST(AppServer, LostRacesDoNotBurnTheSequence) {
  AppHarness h(18809);
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      http::ClientResponse r = h.Post(R"({"item":"book"})", "Idempotency-Key: race\r\n");
      if (r.status == 201) created++;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
  EXPECT_EQ(h.store.Get("orders:seq"), "1");
}

// Bug 1: listing finds the orders that exist whatever the sequence says.
TEST(AppServer, ListingSurvivesSequenceGaps) {
  AppHarness h(18811);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    http::ClientResponse r = h.Post(R"({"n":)" + std::to_string(i) + "}");
    ASSERT_EQ(r.status, 201) << Show(r);
    ids.push_back(json::parse(r.body)["id"]);
  }
  h.store.Set("orders:seq", "100000");  // a sequence far above the orders
  for (const char* q : {"/orders", "/orders?limit=1", "/orders?limit=20"}) {
    http::ClientResponse r = h.Get(q);
    ASSERT_EQ(r.status, 200) << q << " " << Show(r);
    json list = json::parse(r.body)["orders"];
    ASSERT_FALSE(list.empty()) << q;
    EXPECT_EQ(list[0]["id"], ids.back()) << q;  // newest first
    if (std::string(q) != "/orders?limit=1") {
      EXPECT_EQ(list.size(), 3u) << q;
    }
  }
  // New orders after the jump list first.
  http::ClientResponse r = h.Post(R"({"n":3})");
  ASSERT_EQ(r.status, 201) << Show(r);
  json list = json::parse(h.Get("/orders").body)["orders"];
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0]["id"], json::parse(r.body)["id"]);
}

// Bug 4: a write whose outcome is unknown is 504 without Retry-After (a
// retry without a key could create a second order).
TEST(AppServer, UnknownOutcomeIs504WithoutRetryAfter) {
  AppHarness h(18813, 800);
  h.store.FailWrites("order:", "-ERR outcome unknown: the write may or may not be applied");
  http::ClientResponse r = h.Post(R"({"item":"book"})");
  EXPECT_EQ(r.status, 504) << Show(r);
  EXPECT_EQ(r.Header("Retry-After"), "");
  h.store.FailWrites("", "");
  h.store.HoldWrites("order:");  // sent, never answered: the deadline passes
  r = h.Post(R"({"item":"book"})");
  EXPECT_EQ(r.status, 504) << Show(r);
  EXPECT_EQ(r.Header("Retry-After"), "");
  h.store.Release();
  // Nothing was written yet when the store is unavailable from the start: 503, retry.
  h.store.SetNoLeader(true);
  r = h.Post(R"({"item":"book"})");
  EXPECT_EQ(r.status, 503) << Show(r);
  EXPECT_EQ(r.Header("Retry-After"), "1");
}

// Issue 15: an app SIGKILLed in the middle of a POST with a key leaves its
// claim on the key behind. The balancer retries the POST on another app,
// which must take the dead app's claim over and create the order (once),
// within the request's deadline, instead of answering 409.
TEST(AppServer, DeadOwnersClaimIsTakenOver) {
  AppHarness h(18817, 3000);
  ChildApp owner("owner", 18819, 18818);
  ASSERT_TRUE(test::WaitUntil([&] { return owner.Live(); }, 10000)) << owner.process.Log();
  h.store.HoldWrites("order:");
  std::thread doomed([&] { owner.Post(R"({"item":"book"})", "Idempotency-Key: dead\r\n"); });
  // The owner has claimed the key and sent the order's write: it is mid-POST.
  ASSERT_TRUE(test::WaitUntil([&] { return h.store.held() > 0; }, 5000));
  owner.process.Stop(SIGKILL, 3000);
  doomed.join();
  // The store dropped the dead app's connection and its held write with it.
  ASSERT_TRUE(test::WaitUntil([&] { return h.store.held() == 0; }, 5000));
  h.store.Release();
  auto start = std::chrono::steady_clock::now();
  http::ClientResponse retry = h.Post(R"({"item":"book"})", "Idempotency-Key: dead\r\n", 8000);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(retry.status, 201) << Show(retry);
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
  // The same key again replays that order.
  http::ClientResponse again = h.Post(R"({"item":"book"})", "Idempotency-Key: dead\r\n");
  EXPECT_EQ(again.status, 200) << Show(again);
  EXPECT_EQ(again.body, retry.body);
}

// Bug 6: /healthz is readiness (a store round trip that needs a leader);
// /livez is liveness and stays 200.
TEST(AppServer, HealthzNeedsAStoreThatServes) {
  AppHarness h(18815);
  ASSERT_TRUE(test::WaitUntil([&] { return h.Get("/healthz").status == 200; }, 5000));
  h.store.SetNoLeader(true);  // PING still answered
  EXPECT_TRUE(test::WaitUntil([&] { return h.Get("/healthz").status == 503; }, 5000))
      << Show(h.Get("/healthz"));
  http::ClientResponse live = h.Get("/livez");
  EXPECT_EQ(live.status, 200) << Show(live);
  h.store.SetNoLeader(false);
  EXPECT_TRUE(test::WaitUntil([&] { return h.Get("/healthz").status == 200; }, 5000));
}

}  // namespace
}  // namespace nines::app
