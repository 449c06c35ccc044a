// Rate limits and overload protection through a running nines lb: 429 with
// Retry-After and the RateLimit fields, the global limit alone and shared by
// two balancers, a flood of client keys in bounded memory, and shedding when
// servers die under a load only all of them could carry.
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "lb/lb_fixture.h"

namespace nines::test {
namespace {

using RateLimit = LbFixture;

int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST_F(RateLimit, PerClientLimitAnswers429WithRetryAfter) {
  StartAll({{"a"}}, "[rate_limit]\nper_client = \"5/min\"\nclient_key = \"header:X-API-Key\"");
  for (int i = 0; i < 5; ++i) {
    http::ClientResponse r = Get("/", "X-API-Key: alice\r\n");
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.Header("RateLimit-Policy"), "\"client\";q=5;w=60");
    EXPECT_EQ(r.Header("RateLimit"), "\"client\";r=" + std::to_string(4 - i) + ";t=12");
  }
  int seen = BackendCount(0);
  http::ClientResponse r = Get("/", "X-API-Key: alice\r\n");
  EXPECT_EQ(r.status, 429);
  EXPECT_GE(std::stoi(r.Header("Retry-After")), 1);
  EXPECT_EQ(r.Header("Retry-After"), "12");
  EXPECT_EQ(r.Header("RateLimit-Policy"), "\"client\";q=5;w=60");
  EXPECT_EQ(r.Header("RateLimit"), "\"client\";r=0;t=12");
  EXPECT_EQ(BackendCount(0), seen) << "a limited request reached the server";
  // Another key, and a request without the header (keyed by address), are unaffected.
  EXPECT_EQ(Get("/", "X-API-Key: bob\r\n").status, 200);
  EXPECT_EQ(Get("/").status, 200);
  EXPECT_NE(AdminGet("/metrics").find("nines_lb_rate_limited_total{scope=\"client\"} 1\n"),
            std::string::npos);
}

// A past bug: the 429 to a HEAD has the headers of the GET's 429 and
// no body, or a pipelining client would read the body as the next response.
TEST_F(RateLimit, LimitedHeadRequestGetsNoBody) {
  StartAll({{"a"}}, "[rate_limit]\nper_client = \"1/min\"");
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  // The second and third are over the limit; all three arrive at once.
  ASSERT_TRUE(
      c.Send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: t\r\n\r\n"
             "HEAD /3 HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (int expected : {200, 429, 429}) {
    http::ClientResponse r = c.Read("HEAD");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, expected);
    if (expected == 429) {
      EXPECT_NE(r.Header("Content-Length"), "");
      EXPECT_NE(r.Header("Retry-After"), "");
    }
  }
  bool closed = false;
  EXPECT_EQ(c.ReadUntilClose(300, &closed), "") << "bytes after the HEAD replies";
}

// A past bug: behind a trusted proxy the client controls the left of
// X-Forwarded-For; each proxy appends what it saw on the right. The key is
// the rightmost address that is not a trusted proxy (nginx's
// real_ip_recursive), across every X-Forwarded-For header in order.
TEST_F(RateLimit, ClientKeyIsTheRightmostUntrustedForwardedAddress) {
  StartAll({{"a"}},
           "[rate_limit]\nper_client = \"2/min\"\n"
           "trusted_proxies = [\"127.0.0.0/8\", \"10.0.0.0/8\"]");
  int allowed = 0;
  for (int i = 0; i < 6; ++i) {
    // A new spoofed value each time, then the address the proxy saw.
    http::ClientResponse r =
        Get("/", "X-Forwarded-For: 192.0.2." + std::to_string(i) + ", 198.51.100.7, 10.1.2.3\r\n");
    ASSERT_TRUE(r.ok) << r.error;
    allowed += r.status == 200 ? 1 : 0;
  }
  EXPECT_EQ(allowed, 2) << "the client chose its own key";
  // Another client whose spoofed left part names the limited one is not limited.
  EXPECT_EQ(Get("/", "X-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n").status, 200);
  // Split over two headers: the last header's addresses are the rightmost.
  allowed = 0;
  for (int i = 0; i < 4; ++i) {
    http::ClientResponse r = Get("/", "X-Forwarded-For: 192.0.2." + std::to_string(i) +
                                          "\r\nX-Forwarded-For: 203.0.113.20, 127.0.0.9\r\n");
    ASSERT_TRUE(r.ok) << r.error;
    allowed += r.status == 200 ? 1 : 0;
  }
  EXPECT_EQ(allowed, 2);
}

// A past bug: a key was a whole header value (up to ~64 KiB), so the
// table's memory was bounded by key count, not bytes: 3,000 keys of 60 KB
// took 178 MB. Long keys are stored as a fixed-size digest. 1,000 keys of
// 60 KB (60 MB if stored whole) are four times the bound below: enough.
TEST_F(RateLimit, LongKeysTakeFixedSpace) {
  const int kKeys = 1000;
  StartAll({{"a"}},
           "[rate_limit]\nper_client = \"5/min\"\nclient_key = \"header:X-API-Key\"\n"
           "global = \"1/h\"\nglobal_burst = 1\n");
  int64_t rss_before = RssKb(lb_.pid());
  std::string key(60000, 'k');
  int limited = 0;
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  for (int base = 0; base < kKeys; base += 10) {
    std::string batch;
    for (int k = base; k < base + 10; ++k) {
      std::string id = std::to_string(k);
      std::memcpy(key.data(), id.data(), id.size());
      batch += "GET / HTTP/1.1\r\nHost: t\r\nX-API-Key: " + key + "\r\n\r\n";
    }
    ASSERT_TRUE(c.Send(batch));
    for (int k = 0; k < 10; ++k) {
      http::ClientResponse r = c.Read();
      ASSERT_TRUE(r.ok) << r.error;
      limited += r.status == 429 ? 1 : 0;
    }
  }
  EXPECT_GE(limited, kKeys - 1);  // the global limit let one through
  auto status = nlohmann::json::parse(AdminGet("/status"));
  EXPECT_EQ(status["rate_limit"]["per_client"]["clients"].get<int>(), kKeys);
  int64_t rss_after = RssKb(lb_.pid());
  EXPECT_LT(rss_after - rss_before, 16 * 1024) << rss_before << " kB -> " << rss_after << " kB";
}

// Hammers `port` from `threads` keep-alive clients for `ms` (or until *stop)
// and counts 200s and 429s.
struct Hammer {
  std::atomic<int> ok{0};
  std::atomic<int> limited{0};
  std::atomic<int> other{0};
  void Run(const std::string& host, int port, int threads, int ms,
           const std::atomic<bool>* stop = nullptr) {
    std::vector<std::thread> pool;
    int64_t end = SteadyMs() + ms;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, end] {
        http::ClientConnection c;
        bool connected = false;
        while (SteadyMs() < end && !(stop && stop->load())) {
          if (!connected) connected = c.Connect(host, port);
          if (!connected || !c.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")) {
            connected = false;
            continue;
          }
          http::ClientResponse r = c.Read();
          if (r.ok && r.status == 200) {
            ++ok;
          } else if (r.ok && r.status == 429) {
            ++limited;
          } else {
            ++other;
          }
          if (!r.ok || r.closed) connected = false;
        }
      });
    }
    for (auto& t : pool) t.join();
  }
};

TEST_F(RateLimit, GlobalLimitHoldsUnderFiftyClients) {
  StartAll({{"a"}, {"b"}}, "[rate_limit]\nglobal = \"200/s\"");
  Hammer h;
  h.Run(host_, 8080, 50, 5000);
  // 200/s for 5 s after an initial burst of 200.
  EXPECT_GE(h.ok.load(), 200 + 900);
  EXPECT_LE(h.ok.load(), 200 + 1100);
  EXPECT_GT(h.limited.load(), 0);
  EXPECT_EQ(h.other.load(), 0);
}

TEST_F(RateLimit, TwoBalancersShareOneGlobalLimit) {
  // Signed reports: both balancers read the same key_file.
  WriteFile(dir_ + "/cluster.key", "rate-limit-cluster-key\n");
  StartAll({{"a"}}, "[rate_limit]\nglobal = \"200/s\"\nglobal_burst = 20\n[cluster]\nbind = \"" +
                        host_ + ":9902\"\npeers = [\"" + host_ + ":9902\", \"" + host_ +
                        ":9903\"]\nkey_file = \"" + dir_ + "/cluster.key\"");
  // The second balancer: same servers, its own addresses, the other peer.
  std::string second = dir_ + "/lb2.toml";
  std::string text = [&] {
    std::ifstream in(config_path());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }();
  auto replace = [&](const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
  };
  replace(host_ + ":8080", host_ + ":8090");
  replace(host_ + ":9901", host_ + ":9911");
  replace("bind = \"" + host_ + ":9902\"", "bind = \"" + host_ + ":9903\"");
  WriteFile(second, text);
  ChildProcess lb2({NinesBinary(), "lb", "--config", second}, dir_ + "/lb2.log");
  ASSERT_TRUE(WaitUntil([&] { return http::Get(host_, 9911, "/status").ok; }, 10000)) << lb2.Log();
  // Both must have heard each other before the load starts.
  auto heard = [&](int admin) {
    auto s = nlohmann::json::parse(http::Get(host_, admin, "/status").body, nullptr, false);
    if (s.is_discarded()) return false;
    for (const auto& p : s["rate_limit"]["global"]["peers"]) {
      if (p["last_seen_age_ms"].get<int64_t>() >= 0) return true;
    }
    return false;
  };
  ASSERT_TRUE(WaitUntil([&] { return heard(9901) && heard(9911); }, 5000));

  // Under load on both, each enforces the limit and takes the other's demand.
  // (How much each admits is tests/ratelimit/cluster_share_test.cc's
  // arithmetic, on a manual clock.)
  auto global = [&](int admin) {
    auto s = nlohmann::json::parse(http::Get(host_, admin, "/status").body, nullptr, false);
    return s.is_discarded() ? nlohmann::json() : s["rate_limit"]["global"];
  };
  auto peer_demand = [&](int admin) {
    nlohmann::json g = global(admin);
    return g.is_object() ? g["peers"][0]["demand_per_s"].get<double>() : 0.0;
  };
  Hammer h1, h2;
  std::atomic<bool> stop{false};
  std::thread t1([&] { h1.Run(host_, 8080, 20, 60000, &stop); });
  std::thread t2([&] { h2.Run(host_, 8090, 20, 60000, &stop); });
  bool shared = WaitUntil(
      [&] {
        return h1.ok > 0 && h2.ok > 0 && h1.limited > 0 && h2.limited > 0 &&
               peer_demand(9901) > 50 && peer_demand(9911) > 50;
      },
      30000, 50);
  stop = true;
  t1.join();
  t2.join();
  EXPECT_TRUE(shared) << h1.ok << "/" << h1.limited << " + " << h2.ok << "/" << h2.limited << "; "
                      << global(9901) << "; " << global(9911);
  EXPECT_EQ(h1.other + h2.other, 0);

  // Idle again (demand is over the last second): half each.
  EXPECT_TRUE(WaitUntil(
      [&] { return global(9901)["share"] == 0.5 && global(9911)["share"] == 0.5; }, 10000))
      << global(9901) << "; " << global(9911);

  // One balancer dies: after peer_timeout_ms the survivor takes the whole rate.
  lb2.Stop(SIGKILL, 5000);
  EXPECT_TRUE(WaitUntil(
      [&] {
        nlohmann::json g = global(9901);
        return g["share"] == 1.0 && g["peers"][0]["alive"] == false;
      },
      10000))
      << global(9901);
  EXPECT_EQ(global(9901)["enforced_per_s"].get<double>(), 200);
}

// 30,000 keys against a table of 3,000: the table's size and its evictions
// show the bound (100,000 keys took 8 s more and asserted the same).
TEST_F(RateLimit, FloodOfKeysStaysInBoundedMemory) {
  const int kKeys = 30000;
  const int kMaxClients = kKeys / 10;
  StartAll({{"a"}},
           "[rate_limit]\nper_client = \"5/s\"\nclient_key = \"header:X-API-Key\"\n"
           "max_clients = " +
               std::to_string(kMaxClients));
  int64_t rss_before = RssKb(lb_.pid());
  std::atomic<bool> stop{false};
  std::atomic<int> good_ok{0}, good_fail{0};
  // A well-behaved client: 2 requests a second with its own key.
  std::thread good([&] {
    while (!stop) {
      http::ClientResponse r = Get("/", "X-API-Key: well-behaved\r\n");
      (r.ok && r.status == 200 ? good_ok : good_fail)++;
      WaitUntil([&] { return stop.load(); }, 500);
    }
  });
  // The flood: distinct keys, pipelined 100 at a time on 4 connections.
  std::vector<std::thread> flood;
  std::atomic<int> answered{0};
  for (int t = 0; t < 4; ++t) {
    flood.emplace_back([&, t] {
      http::ClientConnection c;
      ASSERT_TRUE(c.Connect(host_, 8080));
      for (int base = t * (kKeys / 4); base < (t + 1) * (kKeys / 4); base += 100) {
        std::string batch;
        for (int k = base; k < base + 100; ++k) {
          batch += "GET / HTTP/1.1\r\nHost: t\r\nX-API-Key: key-" + std::to_string(k) +
                   "-0123456789abcdef\r\n\r\n";
        }
        ASSERT_TRUE(c.Send(batch));
        for (int k = 0; k < 100; ++k) {
          http::ClientResponse r = c.Read();
          ASSERT_TRUE(r.ok) << r.error;
          ++answered;
        }
      }
    });
  }
  for (auto& t : flood) t.join();
  stop = true;
  good.join();
  EXPECT_EQ(answered.load(), kKeys);
  int64_t rss_after = RssKb(lb_.pid());
  auto status = nlohmann::json::parse(AdminGet("/status"));
  EXPECT_LE(status["rate_limit"]["per_client"]["clients"].get<int>(), kMaxClients);
  EXPECT_GE(status["rate_limit"]["per_client"]["evictions"].get<int>(), kKeys - kMaxClients);
  // Generous bound: the table holds kMaxClients keys of ~200 bytes; the rest
  // is allocator slack and connection buffers.
  EXPECT_LT(rss_after - rss_before, 32 * 1024) << rss_before << " kB -> " << rss_after << " kB";
  EXPECT_GT(good_ok.load(), 0);
  EXPECT_EQ(good_fail.load(), 0);
}

TEST_F(RateLimit, SurvivorIsNotOverloadedWhenServersDie) {
  StartAll({{"a"}, {"b"}, {"c"}},
           "balance = \"least_conn\"\nqueue_timeout_ms = 50\nmax_queue = 100\n"
           "[outlier]\nconsecutive_failures = 0");
  // max_conn = 10 on every server: rewrite and reload.
  {
    std::ifstream in(config_path());
    std::stringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    size_t at = 0;
    while ((at = text.find("backup = false\n", at)) != std::string::npos) {
      text.insert(at, "max_conn = 10\n");
      at += 30;
    }
    WriteFile(config_path(), text);
    lb_.Signal(SIGHUP);
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto st = nlohmann::json::parse(AdminGet("/status"), nullptr, false);
          return !st.is_discarded() && st["servers"][0]["max_conn"] == 10;
        },
        5000));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, shed{0}, failed{0}, shed_without_retry_after{0};
  std::mutex mu;
  std::vector<int64_t> shed_ms;
  std::string last_failure;
  std::map<std::string, int> reasons;
  std::vector<std::thread> clients;
  for (int t = 0; t < 25; ++t) {  // 25 at once: more than one server's 10
    clients.emplace_back([&] {
      http::ClientConnection c;
      bool connected = false;
      while (!stop) {
        if (!connected) connected = c.Connect(host_, 8080);
        int64_t start = SteadyMs();
        if (!connected || !c.Send("GET /slow?ms=20 HTTP/1.1\r\nHost: t\r\n\r\n")) {
          std::lock_guard lock(mu);
          last_failure =
              connected ? "send failed" : "connect failed: " + std::string(strerror(errno));
          reasons[last_failure]++;
          connected = false;
          ++failed;
          continue;
        }
        http::ClientResponse r = c.Read();
        if (r.ok && r.status == 200) {
          ++ok;
        } else if (r.ok && r.status == 503) {
          ++shed;
          if (r.Header("retry-after") != "1") ++shed_without_retry_after;
          std::lock_guard lock(mu);
          shed_ms.push_back(SteadyMs() - start);
        } else {
          ++failed;
          std::lock_guard lock(mu);
          last_failure = r.ok ? std::to_string(r.status) : r.error;
          reasons[last_failure]++;
        }
        if (!r.ok || r.closed) connected = false;
      }
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return ok > 200; }, 20000));
  KillBackend(1);
  KillBackend(2);
  int before = ok;
  ASSERT_TRUE(WaitUntil([&] { return ok > before + 300; }, 30000));
  stop = true;
  for (auto& t : clients) t.join();

  http::ClientResponse max = http::Get(BackendHost(0), 8081, "/maxinflight");
  EXPECT_LE(std::stoi(max.body), 10) << "the survivor was overloaded";
  EXPECT_GT(shed.load(), 0);
  // A shed request says when to come back, as a 429 does.
  EXPECT_EQ(shed_without_retry_after.load(), 0);
  int accepted = ok + failed;
  EXPECT_GE(ok * 100, accepted * 99)
      << failed << " of " << accepted << " accepted requests failed; last: " << last_failure;
  for (const auto& [reason, n] : reasons) std::cerr << "failure: " << reason << " x" << n << "\n";
  std::sort(shed_ms.begin(), shed_ms.end());
  ASSERT_FALSE(shed_ms.empty());
  EXPECT_LT(shed_ms[shed_ms.size() / 2], 100) << "median time to a 503";
}

}  // namespace
}  // namespace nines::test
