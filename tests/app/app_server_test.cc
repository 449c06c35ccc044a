// The app's HTTP behaviour against an in-memory fake store (no Raft, no
// processes): idempotency by draft-ietf-httpapi-idempotency-key-header,
// listing through sequence gaps, unknown outcomes, readiness, and the
// takeover of a dead app's idempotency claim (a second app as a `nines app`
// process). Each test has its own ports on 127.0.188.x.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/app_server.h"
#include "app/orders.h"
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

  explicit AppHarness(int port_base, int store_timeout_ms = 1500, int lease_ms = 0)
      : port(port_base), store(kStoreHost, port_base + 1) {
    AppConfig c;
    c.name = "test-app";
    c.region = "test";
    c.listen = Endpoint{kAppHost, static_cast<uint16_t>(port)};
    c.store = {Endpoint{kStoreHost, static_cast<uint16_t>(port_base + 1)}};
    c.store_timeout_ms = store_timeout_ms;
    c.idempotency_lease_ms = lease_ms > 0 ? lease_ms : std::min(1000, store_timeout_ms / 2);
    c.drain_ms = 2000;
    c.health_interval_ms = 100;
    // The fake store answers a connection's commands in order, so a held
    // write holds the commands behind it: spare connections keep the PINGs
    // and a claim's renewals off the held one.
    c.store_connections = 4;
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

  ChildApp(const std::string& name, int port_, int store_port, int store_timeout_ms = 3000,
           const std::string& first_member = "")
      : port(port_) {
    std::string dir = test::TestDir("app_server_" + name);
    std::string config = dir + "/app.toml";
    test::WriteFile(
        config, "name = \"" + name + "\"\nregion = \"test\"\nlisten = \"" +
                    std::string(kChildHost) + ":" + std::to_string(port) + "\"\nstore = [" +
                    (first_member.empty() ? "" : "\"" + first_member + "\", ") + "\"" + kStoreHost +
                    ":" + std::to_string(store_port) + "\"]\nstore_timeout_ms = " +
                    std::to_string(store_timeout_ms) + "\nhealth_interval_ms = 100\n");
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

// Bug 5 and issue 15: a request whose key is still in flight (its app alive,
// renewing its claim's lease) is not taken over: a second one waits while its
// budget lasts, then gets 409; it takes no sequence number.
TEST(AppServer, ALiveRequestsClaimIsNotTakenOver) {
  AppHarness h(18805, 3000, 400);
  ChildApp waiter("waiter", 18821, 18806, 2500);
  ASSERT_TRUE(test::WaitUntil([&] { return waiter.Live(); }, 10000)) << waiter.process.Log();
  h.store.HoldWrites("order:");
  http::ClientResponse first;
  std::thread t([&] { first = h.Post(R"({"item":"book"})", "Idempotency-Key: busy\r\n", 8000); });
  ASSERT_TRUE(test::WaitUntil([&] { return h.store.held() > 0; }, 5000));
  ASSERT_FALSE(h.store.Get("claim:anon:busy").empty());
  // The waiter polls for 1.9 s: more than 4 of the owner's 400 ms leases
  // (renewed every 133 ms; a shorter lease is at the mercy of a loaded machine).
  http::ClientResponse second = waiter.Post(R"({"item":"book"})", "Idempotency-Key: busy\r\n");
  EXPECT_EQ(second.status, 409) << Show(second);
  EXPECT_EQ(h.store.Get("orders:seq"), "1");  // the waiter never held the key
  h.store.Release();
  t.join();
  EXPECT_EQ(first.status, 201) << Show(first);
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
}

// Issue 15: a request that waits on a live owner's claim answers with the
// owner's order once it is done (a replay). The owner's lease is the default
// 1000 ms: its renewals (every 333 ms) keep it on a loaded machine, and the
// waiter is released as soon as it waits, so the lease costs no time.
TEST(AppServer, AWaiterReplaysTheOwnersOrder) {
  AppHarness h(18823, 3000);
  ChildApp waiter("replayer", 18825, 18824);
  ASSERT_TRUE(test::WaitUntil([&] { return waiter.Live(); }, 10000)) << waiter.process.Log();
  h.store.HoldWrites("order:");
  http::ClientResponse first;
  std::thread t([&] { first = h.Post(R"({"item":"pen"})", "Idempotency-Key: w\r\n", 8000); });
  ASSERT_TRUE(test::WaitUntil([&] { return h.store.held() > 0; }, 5000));
  http::ClientResponse second;
  std::thread u([&] { second = waiter.Post(R"({"item":"pen"})", "Idempotency-Key: w\r\n"); });
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        std::string m = http::Get(kChildHost, waiter.port, "/metrics").body;
        return m.find("nines_app_idempotency_waits_total 1") != std::string::npos;
      },
      5000));
  h.store.Release();
  t.join();
  u.join();
  ASSERT_EQ(first.status, 201) << Show(first);
  EXPECT_EQ(second.status, 200) << Show(second);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
}

// The claim a dead app leaves: "claim ID FP OWNER" with what is left of its lease.
std::string DeadClaim(const std::string& body) {
  std::string canonical;
  EXPECT_TRUE(ValidateOrderBody(body, &canonical).ok());
  return EncodeIdemClaim(IdemClaim{NewOrderId(7, 7), BodyFingerprint(canonical), "dead app"});
}

// Issue 15: two apps (and several requests on each) that find the same dead
// claim all wait, race to take it over, and make exactly one order; every
// other request replays it.
TEST(AppServer, ConcurrentTakeoversMakeOneOrder) {
  AppHarness h(18827, 3000);
  ChildApp other("taker", 18829, 18828);
  ASSERT_TRUE(test::WaitUntil([&] { return other.Live(); }, 10000)) << other.process.Log();
  h.store.SetWithTtl("claim:anon:t", DeadClaim(R"({"item":"car"})"), 300);
  std::vector<http::ClientResponse> answers(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] {
      answers[i] = i % 2 ? other.Post(R"({"item":"car"})", "Idempotency-Key: t\r\n")
                         : h.Post(R"({"item":"car"})", "Idempotency-Key: t\r\n", 8000);
    });
  }
  for (std::thread& t : threads) t.join();
  int created = 0;
  std::set<std::string> ids;
  for (const http::ClientResponse& r : answers) {
    EXPECT_TRUE(r.status == 201 || r.status == 200) << Show(r);
    created += r.status == 201;
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_discarded() && j.contains("id")) ids.insert(j["id"].get<std::string>());
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
  EXPECT_EQ(h.store.Get("orders:seq"), "1");
}

// Issue 15, the crucial case: the owner whose lease ran out was not dead, only
// late, and its order commits after another request took the key over. The
// taker's own order write is then refused (one done record per key), and it
// answers with the owner's order: one order for the key.
TEST(AppServer, ALateOwnersCommitWinsOverTheTakeover) {
  AppHarness h(18831, 3000);
  h.store.SetWithTtl("claim:anon:late", DeadClaim(R"({"item":"hat"})"), 200);
  h.store.HoldWrites("order:");
  http::ClientResponse taker;
  std::thread t([&] { taker = h.Post(R"({"item":"hat"})", "Idempotency-Key: late\r\n", 8000); });
  // The taker has claimed the key and sent its MSETNX (held).
  ASSERT_TRUE(test::WaitUntil([&] { return h.store.held() > 0; }, 5000));
  // Meanwhile the late owner's MSETNX is applied: order, index, done record.
  std::string owner_id = NewOrderId(7, 7);
  OrderRecord record;
  record.id = owner_id;
  record.created_ms = 1;
  record.app = "dead app";
  record.region = "test";
  record.seq = 99;
  record.order_json = R"({"item":"hat"})";
  h.store.Set(OrderKey(owner_id), EncodeOrderRecord(record));
  h.store.Set(IndexKey(99), owner_id);
  h.store.Set("idem:anon:late",
              EncodeIdemState(IdemState{true, owner_id, BodyFingerprint(record.order_json)}));
  h.store.Release();
  t.join();
  EXPECT_EQ(taker.status, 200) << Show(taker);
  EXPECT_EQ(json::parse(taker.body), json::parse(EncodeOrderRecord(record)));
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
  EXPECT_EQ(h.store.CountPrefix("orders:by_seq:"), 1u);
}

// Issue 15: a claim (live or dead) made with another body is 422 at once,
// as a done record with another body is: no waiting.
TEST(AppServer, AClaimWithAnotherBodyIs422AtOnce) {
  AppHarness h(18833, 3000);
  h.store.Set("claim:anon:o", DeadClaim(R"({"item":"cup"})"));
  auto start = std::chrono::steady_clock::now();
  http::ClientResponse r = h.Post(R"({"item":"mug"})", "Idempotency-Key: o\r\n");
  EXPECT_EQ(r.status, 422) << Show(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
  EXPECT_EQ(h.store.Get("orders:seq"), "");
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

// An index key already taken (orders:seq set back by hand) is not
// overwritten: the order takes the next number.
TEST(AppServer, ATakenIndexKeyTakesTheNextNumber) {
  AppHarness h(18835);
  h.store.Set("orders:by_seq:1", "o-00000000000000000000000000000001");
  h.store.Set("orders:seq", "0");
  http::ClientResponse r = h.Post(R"({"item":"map"})");
  ASSERT_EQ(r.status, 201) << Show(r);
  EXPECT_EQ(json::parse(r.body)["seq"], 2);
  EXPECT_EQ(h.store.Get("orders:by_seq:1"), "o-00000000000000000000000000000001");
  // With a key, past two taken numbers.
  h.store.Set("orders:seq", "0");
  r = h.Post(R"({"item":"map"})", "Idempotency-Key: n\r\n");
  ASSERT_EQ(r.status, 201) << Show(r);
  EXPECT_EQ(json::parse(r.body)["seq"], 3);
  EXPECT_EQ(h.store.Get("orders:by_seq:2"),
            json::parse(h.Get("/orders?limit=2").body)["orders"][1]["id"]);
  EXPECT_EQ(h.store.Get("idem:anon:n").substr(0, 5), "done ");
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

// Review (revtk): app.toml accepted any idempotency_lease_ms below
// store_timeout_ms, but a waiting request gives up at three quarters of
// store_timeout_ms: with store_timeout_ms = 1000 a 900 ms lease of an app
// that died right after claiming was never taken over by the balancer's retry
// (409, the symptom issue 15 is about). Now such a lease is refused, and the
// longest one accepted (lease + the store's expiry tick + a poll < 750 ms) is
// taken over within the retry's budget.
TEST(AppServer, ReviewAnAcceptedLeaseIsTakenOverWithinTheRetrysBudget) {
  auto parse = [](int lease, ConfigErrors* errors) {
    return ParseAppConfig(
        "name = \"a\"\nregion = \"r\"\nlisten = \"127.0.0.1:1\"\nstore = [\"127.0.0.1:2\"]\n"
        "store_timeout_ms = 1000\nidempotency_lease_ms = " +
            std::to_string(lease) + "\n",
        "app.toml", errors);
  };
  ConfigErrors refused;
  EXPECT_FALSE(parse(900, &refused));
  EXPECT_EQ(refused.ToString().rfind("app.toml:6:24: 'idempotency_lease_ms' (900)", 0), 0u)
      << refused.ToString();
  int longest = MaxIdempotencyLeaseMs(1000);
  ConfigErrors errors;
  std::optional<AppConfig> config = parse(longest, &errors);
  ASSERT_TRUE(config) << errors.ToString();
  EXPECT_FALSE(parse(longest + 1, &errors));
  AppHarness h(18837, 1000, longest);
  h.store.SetWithTtl("claim:anon:budget", DeadClaim(R"({"item":"kit"})"), longest);
  http::ClientResponse r = h.Post(R"({"item":"kit"})", "Idempotency-Key: budget\r\n");
  EXPECT_EQ(r.status, 201) << Show(r);
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);
}

// A TCP relay in front of the fake store that can be frozen: while frozen it
// passes no byte either way, as a SIGSTOPped store member whose kernel keeps
// the connections open.
class FreezableRelay {
 public:
  FreezableRelay(const std::string& host, int port, int target_port) : target_port_(target_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    bound_ = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
             ::listen(listen_fd_, 64) == 0;
    thread_ = std::thread([this] { Run(); });
  }
  ~FreezableRelay() {
    stop_ = true;
    thread_.join();
    for (auto& [x, y] : pairs_) {
      if (x >= 0) ::close(x);
      if (y >= 0) ::close(y);
    }
    ::close(listen_fd_);
  }
  bool bound() const { return bound_; }
  void Freeze(bool on) { frozen_ = on; }

 private:
  void Run() {
    while (!stop_) {
      std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}};
      std::vector<size_t> owner = {0};  // fds[i] belongs to pairs_[owner[i]]
      if (!frozen_) {
        for (size_t p = 0; p < pairs_.size(); ++p) {
          if (pairs_[p].first < 0) continue;
          fds.push_back({pairs_[p].first, POLLIN, 0});
          fds.push_back({pairs_[p].second, POLLIN, 0});
          owner.push_back(p);
          owner.push_back(p);
        }
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) Accept();
      for (size_t i = 1; i < fds.size(); ++i) {
        auto& pair = pairs_[owner[i]];
        if (fds[i].revents == 0 || pair.first < 0) continue;
        int from = fds[i].fd;
        int to = from == pair.first ? pair.second : pair.first;
        char buf[65536];
        ssize_t n = ::read(from, buf, sizeof buf);
        bool broken = n <= 0;
        for (ssize_t off = 0; !broken && off < n;) {
          ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
          if (w <= 0) broken = true;
          off += w;
        }
        if (broken) {  // either side gone: drop both
          ::close(pair.first);
          ::close(pair.second);
          pair = {-1, -1};
        }
      }
    }
  }
  void Accept() {
    int c = ::accept(listen_fd_, nullptr, nullptr);
    if (c < 0) return;
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(target_port_));
    ::inet_pton(AF_INET, kStoreHost, &a.sin_addr);
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(c);
      ::close(s);
      return;
    }
    pairs_.emplace_back(c, s);
  }

  int target_port_;
  int listen_fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> frozen_{false};
  std::vector<std::pair<int, int>> pairs_;
  std::thread thread_;
};

// Review (revtk): a live owner keeps its claim through a freeze of the store
// member it talks to, when the rest of the store serves (no failover: a
// minority is frozen). The renewal's deadline is the lease (1000 ms), shorter
// than the store client's attempt timeout (store_timeout_ms / 2 = 1500 ms), so
// a renewal sent to the frozen member is never moved to another one, and the
// member is not suspected before 1.5 s: every renewal in that window is lost,
// the claim runs out after 1 s, and a waiter takes the live owner's key over
// (it takes a sequence number and writes its own order) instead of waiting.
TEST(AppServer, ReviewALiveOwnersClaimSurvivesAFrozenStoreMember) {
  AppHarness h(18839, 2500);
  FreezableRelay relay(kStoreHost, 18842, 18840);
  ASSERT_TRUE(relay.bound());
  ChildApp owner("frozenowner", 18841, 18840, 3000, std::string(kStoreHost) + ":18842");
  ASSERT_TRUE(test::WaitUntil([&] { return owner.Live(); }, 10000)) << owner.process.Log();
  h.store.HoldWrites("order:");
  http::ClientResponse first;
  std::thread t([&] { first = owner.Post(R"({"item":"ice"})", "Idempotency-Key: frozen\r\n"); });
  // The owner (live) has claimed the key and sent its order's write (held).
  ASSERT_TRUE(test::WaitUntil([&] { return h.store.held() > 0; }, 5000));
  ASSERT_NE(h.store.Get("claim:anon:frozen").find("frozenowner"), std::string::npos);
  relay.Freeze(true);  // the owner's nearest store member stops answering
  // The waiter (another app, talking to a serving member) should wait and
  // answer 409, as in ALiveRequestsClaimIsNotTakenOver.
  http::ClientResponse second = h.Post(R"({"item":"ice"})", "Idempotency-Key: frozen\r\n", 8000);
  EXPECT_EQ(second.status, 409) << Show(second);
  EXPECT_EQ(h.store.Get("orders:seq"), "1");  // the waiter never held the key
  EXPECT_NE(h.store.Get("claim:anon:frozen").find("frozenowner"), std::string::npos)
      << h.store.Get("claim:anon:frozen");
  relay.Freeze(false);
  h.store.Release();
  t.join();
  EXPECT_EQ(h.store.CountPrefix("order:"), 1u);  // safety holds either way
}

// Review (revtk): docs/app.md: "A POST that fails before that point (nothing
// of the order written) is 503 with Retry-After: 1". The store's UNKNOWN reply
// to the claim's SET NX ("write not committed in time", what writes in flight
// get in a store failover) is answered 500 "store error" instead, and the claim
// it may have left (unrenewed) makes the client's retry wait up to a lease.
// Re-reading the key, as after a nil, would find the claim ours (or absent).
TEST(AppServer, ReviewAnUnknownOutcomeOfTheClaimIsNotA500) {
  AppHarness h(18843);
  h.store.FailWrites("claim:", "-UNKNOWN outcome unknown: write not committed in time");
  http::ClientResponse r = h.Post(R"({"item":"oar"})", "Idempotency-Key: u\r\n");
  EXPECT_TRUE(r.status == 201 || (r.status == 503 && r.Header("Retry-After") == "1")) << Show(r);
}

// The same for INCR (step 3): taking another number only leaves a gap, so it
// is taken again; an INCR that never gets a known outcome gives 503 with
// Retry-After, with a key or without, and nothing of the order exists.
TEST(AppServer, AnUnknownOutcomeOfTheIncrIsRetriedThen503) {
  AppHarness h(18845);
  h.store.FailWrites("orders:seq", "-UNKNOWN outcome unknown: write not committed in time");
  for (const char* headers : {"", "Idempotency-Key: n\r\n"}) {
    http::ClientResponse r = h.Post(R"({"item":"net"})", headers);
    EXPECT_EQ(r.status, 503) << Show(r);
    EXPECT_EQ(r.Header("Retry-After"), "1");
  }
  EXPECT_EQ(h.store.CountPrefix("order:"), 0u);
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
