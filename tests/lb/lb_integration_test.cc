// nines lb with real processes: balancing, failover on SIGKILL, backups,
// retries, draining, reload, graceful stop, streaming, keep-alive limits.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "lb/lb_fixture.h"

namespace nines::test {

std::string LbFixture::ServerState(const std::string& name) {
  http::ClientResponse r = http::Get(host_, 9901, "/status");
  if (!r.ok) return "";
  auto status = nlohmann::json::parse(r.body, nullptr, false);
  if (status.is_discarded()) return "";
  for (const auto& s : status["servers"]) {
    if (s["name"] == name) return s["state"];
  }
  return "";
}

namespace {

using Lb = LbFixture;

TEST_F(Lb, RoundRobinSpreadsEvenly) {
  StartAll({{"a"}, {"b"}, {"c"}}, "balance = \"round_robin\"");
  std::map<std::string, int> hits;
  for (int i = 0; i < 300; ++i) {
    http::ClientResponse r = Get("/");
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.status, 200);
    hits[r.Header("X-Server")]++;
  }
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_GE(hits[name], 60) << name << " got " << hits[name] << " of 300";
  }
}

// A client that sends GETs on keep-alive connections until stopped and counts
// every request that did not get a 200.
class SteadyClient {
 public:
  SteadyClient(std::string host, int port) : host_(std::move(host)), port_(port) {
    thread_ = std::thread([this] { Run(); });
  }
  ~SteadyClient() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int failures() const { return failures_; }
  int requests() const { return requests_; }
  std::string last_error() const { return last_error_; }

 private:
  void Run() {
    http::ClientConnection c;
    bool connected = false;
    while (!stop_) {
      if (!connected) connected = c.Connect(host_, port_);
      if (!connected || !c.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")) {
        ++failures_;
        last_error_ = "connect/send";
        connected = false;
        continue;
      }
      http::ClientResponse r = c.Read();
      ++requests_;
      if (!r.ok || r.status != 200) {
        ++failures_;
        last_error_ = r.ok ? std::to_string(r.status) : r.error;
      }
      if (!r.ok || r.closed) connected = false;
    }
  }
  std::string host_;
  int port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  std::atomic<int> requests_{0};
  std::string last_error_;
  std::thread thread_;
};

TEST_F(Lb, KilledServerCostsNoRequestAndComesBack) {
  // interval 500, timeout 250, fall 2: down within 500*2+250 ms plus one second.
  StartAll({{"a"}, {"b"}, {"c"}}, "balance = \"round_robin\"",
           "interval_ms = 500\ntimeout_ms = 250\nrise = 2\nfall = 2\n");
  SteadyClient client(host_, 8080);
  ASSERT_TRUE(WaitUntil([&] { return client.requests() > 50; }, 10000));
  int64_t killed_at = SteadyMs();
  KillBackend(1);
  ASSERT_TRUE(WaitUntil([&] { return ServerState("b") == "down"; }, 5000));
  int64_t detected_ms = SteadyMs() - killed_at;
  EXPECT_LE(detected_ms, 500 * 2 + 250 + 1000);
  int before = client.requests();
  ASSERT_TRUE(WaitUntil([&] { return client.requests() > before + 100; }, 10000));

  StartBackend(1);
  ASSERT_TRUE(WaitUntil([&] { return ServerState("b") == "up"; }, 5000));
  ASSERT_TRUE(WaitUntil([&] { return BackendCount(1) > 0; }, 5000))
      << "restarted server takes no traffic";
  client.Stop();
  EXPECT_EQ(client.failures(), 0) << "last error: " << client.last_error() << " of "
                                  << client.requests() << " requests";
}

TEST_F(Lb, BackupServesWhenAllPrimariesAreDownThen503) {
  StartAll({{"a"}, {"b"}, {"spare", true}});
  for (int i = 0; i < 20; ++i) ASSERT_NE(Get("/").Header("X-Server"), "spare");
  KillBackend(0);
  KillBackend(1);
  // Retries fall over to the backup at once, before the checks even notice.
  for (int i = 0; i < 20; ++i) {
    http::ClientResponse r = Get("/");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("X-Server"), "spare");
  }
  ASSERT_TRUE(
      WaitUntil([&] { return ServerState("a") == "down" && ServerState("b") == "down"; }, 5000));
  KillBackend(2);
  int64_t start = SteadyMs();
  http::ClientResponse r = Get("/");
  int64_t took = SteadyMs() - start;
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_LT(took, 1000);
  EXPECT_EQ(r.body, "503 Service Unavailable\n");
}

TEST_F(Lb, NoServerUpAnswers503AtOnce) {
  StartAll({{"a"}});
  KillBackend(0);
  ASSERT_TRUE(WaitUntil([&] { return ServerState("a") == "down"; }, 5000));
  for (int i = 0; i < 5; ++i) {
    int64_t start = SteadyMs();
    http::ClientResponse r = Get("/");
    EXPECT_LT(SteadyMs() - start, 1000);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 503);
  }
}

TEST_F(Lb, IdempotentRequestsRetryOn503FromAServer) {
  StartAll({{"bad", false, "--fail-status 503"}, {"good1"}, {"good2"}},
           "balance = \"round_robin\"\n[outlier]\nconsecutive_failures = 0");
  for (int i = 0; i < 60; ++i) {
    http::ClientResponse r = Get("/");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.Header("X-Server"), "bad");
  }
  EXPECT_GT(BackendCount(0), 0) << "the failing server was never tried";
  std::string metrics = AdminGet("/metrics");
  EXPECT_NE(metrics.find("nines_lb_retries_total "), std::string::npos);
  EXPECT_EQ(metrics.find("nines_lb_retries_total 0\n"), std::string::npos);
}

TEST_F(Lb, PostIsNotRetriedOnAServerError) {
  StartAll({{"bad", false, "--fail-status 503"}}, "[outlier]\nconsecutive_failures = 0");
  http::ClientResponse r =
      http::Post(host_, 8080, "/orders", "{}", http::ClientOptions().Host("test"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "bad\n");  // the server's own answer, passed through
}

TEST_F(Lb, PassiveChecksEjectAFailingServer) {
  // 502 is a gateway failure (a 500 is the application's answer: no ejection).
  StartAll({{"bad", false, "--fail-status 502"}, {"good"}},
           "balance = \"round_robin\"\n[outlier]\nconsecutive_failures = 3\n"
           "base_ejection_ms = 60000");
  for (int i = 0; i < 40; ++i) EXPECT_EQ(Get("/").status, 200);  // retried on good
  EXPECT_EQ(BackendCount(0), 3);  // ejected after three 502s in a row
  EXPECT_EQ(ServerState("bad"), "down");
  EXPECT_NE(AdminGet("/metrics").find("nines_lb_server_ejections_total{server=\"bad\"} 1"),
            std::string::npos);
}

// A server that answers, only late (a gray failure), is ejected on its time to
// first byte with no failure and no failed health check.
TEST_F(Lb, PassiveChecksEjectASlowServer) {
  StartAll({{"a"}, {"b"}, {"slow", false, "--delay-ms 300"}},
           "balance = \"round_robin\"\n[outlier]\nlatency_ms = 100\nlatency_min_samples = 5\n"
           "base_ejection_ms = 60000");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ServerState("slow") != "down" && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(Get("/").status, 200);
  }
  ASSERT_EQ(ServerState("slow"), "down");
  int before = BackendCount(2);
  for (int i = 0; i < 20; ++i) EXPECT_NE(Get("/").Header("X-Server"), "slow");
  EXPECT_EQ(BackendCount(2), before);
  std::string metrics = AdminGet("/metrics");
  EXPECT_NE(metrics.find("nines_lb_server_latency_ejections_total{server=\"slow\"} 1"),
            std::string::npos);
  EXPECT_EQ(metrics.find("nines_lb_server_latency_ejections_total{server=\"a\"} 1"),
            std::string::npos);
  const nlohmann::json status = nlohmann::json::parse(AdminGet("/status"));
  for (const auto& server : status["servers"]) {
    EXPECT_EQ(server["latency_ejections"], server["name"] == "slow" ? 1 : 0) << server.dump();
    if (server["name"] == "slow") {
      EXPECT_GE(server["latency_ms"].get<int>(), 100);
    }
  }
}

TEST_F(Lb, DrainAndEnable) {
  StartAll({{"a"}, {"b"}}, "balance = \"round_robin\"");
  // No admin token on loopback: its own Host and JSON are enough (admin_auth_test.cc).
  const std::string head = "HTTP/1.1\r\nHost: " + host_ +
                           ":9901\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n";
  http::ClientResponse r = http::Exchange(host_, 9901, "POST /servers/a/drain " + head, "POST");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ServerState("a"), "draining");
  int before = BackendCount(0);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(Get("/").Header("X-Server"), "b");
  EXPECT_EQ(BackendCount(0), before);
  r = http::Exchange(host_, 9901, "POST /servers/a/enable " + head, "POST");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(ServerState("a"), "up");
  for (int i = 0; i < 10; ++i) Get("/");
  EXPECT_GT(BackendCount(0), before);
  r = http::Exchange(host_, 9901, "POST /servers/nope/drain " + head, "POST");
  EXPECT_EQ(r.status, 404);
}

TEST_F(Lb, ReloadChangesServersWithoutDroppingRequests) {
  StartAll({{"a"}, {"b"}}, "balance = \"round_robin\"");
  specs_.push_back({"c"});
  StartBackend(2);
  // A slow request is in flight across the reload.
  std::atomic<int> slow_status{0};
  std::thread slow([&] { slow_status = Get("/slow?ms=1500").status; });
  ASSERT_TRUE(WaitUntil([&] { return BackendCount(0) + BackendCount(1) >= 1; }, 3000));
  WriteConfig({{"b"}, {"c"}}, "balance = \"round_robin\"");
  lb_.Signal(SIGHUP);
  ASSERT_TRUE(
      WaitUntil([&] { return ServerState("c") == "up" && ServerState("a").empty(); }, 5000));
  slow.join();
  EXPECT_EQ(slow_status, 200);
  std::map<std::string, int> hits;
  for (int i = 0; i < 20; ++i) hits[Get("/").Header("X-Server")]++;
  EXPECT_EQ(hits["a"], 0);
  EXPECT_GE(hits["b"], 5);
  EXPECT_GE(hits["c"], 5);

  // A broken config is rejected; the running one keeps serving.
  WriteFile(config_path(), "listen = 42\n");
  lb_.Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return lb_.Log().find("reload rejected: keeping the running config") != std::string::npos;
      },
      5000));
  EXPECT_NE(lb_.Log().find("lb.toml:1:10: 'listen' must be a string"), std::string::npos);
  EXPECT_EQ(Get("/").status, 200);
  EXPECT_EQ(ServerState("c"), "up");
}

TEST_F(Lb, SigtermLetsInFlightRequestsFinish) {
  StartAll({{"a"}});
  std::atomic<int> slow_status{0};
  std::thread slow([&] { slow_status = Get("/slow?ms=1000").status; });
  ASSERT_TRUE(WaitUntil([&] { return BackendCount(0) >= 1; }, 3000));
  lb_.Signal(SIGTERM);
  slow.join();
  EXPECT_EQ(slow_status, 200);
  EXPECT_EQ(lb_.Wait(10000), 0);
  EXPECT_FALSE(Get("/").ok);
}

TEST_F(Lb, ForwardedHeadersAddedAndHopByHopRemoved) {
  StartAll({{"a"}});
  http::ClientResponse r =
      Get("/headers",
          "X-Forwarded-For: 203.0.113.9\r\nConnection: keep-alive, X-Secret\r\n"
          "X-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
          "X-Forwarded-Proto: https\r\nX-Kept: yes\r\n");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("X-Forwarded-For: 203.0.113.9, 127.0.0.1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Forwarded-Proto: http\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Kept: yes\n"), std::string::npos);
  for (const char* gone : {"X-Secret", "Keep-Alive", "TE:", "Connection"}) {
    EXPECT_EQ(r.body.find(gone), std::string::npos) << gone << " forwarded:\n" << r.body;
  }
}

TEST_F(Lb, PipelinedRequestsAnsweredInOrder) {
  StartAll({{"a"}});
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  ASSERT_TRUE(
      c.Send("GET /status/201 HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /status/202 HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /status/203 HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 201);
  EXPECT_EQ(c.Read().status, 202);
  EXPECT_EQ(c.Read().status, 203);
}

TEST_F(Lb, ChunkedRequestAndExpectContinue) {
  StartAll({{"a"}});
  http::ClientResponse r =
      http::Exchange(host_, 8080,
                     "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                     "POST");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "hello world");

  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  ASSERT_TRUE(
      c.Send("PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
             "Expect: 100-continue\r\n\r\n"));
  bool closed;
  std::string interim = c.ReadUntilClose(500, &closed);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.Send("data"));
  r = c.Read("PUT");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "data");
}

TEST_F(Lb, IdleKeepAliveConnectionsClose) {
  StartAll({{"a"}}, "[timeouts]\nclient_idle_ms = 300");
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(c.Read().status, 200);
  bool closed = false;
  c.ReadUntilClose(5000, &closed);
  EXPECT_TRUE(closed);
}

TEST_F(Lb, SlowHeadersGet408) {
  StartAll({{"a"}}, "[timeouts]\nrequest_header_ms = 1000");
  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  const std::string request = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  std::string got;
  bool closed = false;
  for (size_t i = 0; i < request.size() && !closed; ++i) {
    c.Send(request.substr(i, 1));  // one byte every 250 ms: a Slowloris client
    got += c.ReadUntilClose(250, &closed);
  }
  EXPECT_EQ(got.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << got;
  EXPECT_TRUE(closed);
  EXPECT_EQ(BackendCount(0), 0);
}

TEST_F(Lb, MaxConnectionsIsEnforced) {
  StartAll({{"a"}}, "max_connections = 4");
  std::vector<std::unique_ptr<http::ClientConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<http::ClientConnection>());
    ASSERT_TRUE(held.back()->Connect(host_, 8080));
    ASSERT_TRUE(held.back()->Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_EQ(held.back()->Read().status, 200);
  }
  // Over the cap: a fast 503 with Retry-After, not a silent close
  // that clients retry at once or wait out; the backend never sees it.
  int before = BackendCount(0);
  http::ClientResponse over = Get("/");
  ASSERT_TRUE(over.ok) << over.error;
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(over.Header("retry-after"), "1");
  EXPECT_EQ(BackendCount(0), before);
  held.pop_back();
  EXPECT_TRUE(WaitUntil([&] { return Get("/").status == 200; }, 3000));
  EXPECT_NE(AdminGet("/metrics").find("nines_lb_connections_rejected_total "), std::string::npos);
  EXPECT_NE(
      AdminGet("/metrics").find("nines_http_accept_errors_total{listen=\"" + host_ + ":9901\"} 0"),
      std::string::npos);
}

TEST_F(Lb, StatusAndMetricsDescribeTheServers) {
  StartAll({{"a"}, {"spare", true}});
  for (int i = 0; i < 5; ++i) Get("/");
  auto status = nlohmann::json::parse(AdminGet("/status"));
  ASSERT_EQ(status["servers"].size(), 2u);
  EXPECT_EQ(status["servers"][0]["name"], "a");
  EXPECT_EQ(status["servers"][0]["state"], "up");
  EXPECT_EQ(status["servers"][0]["backup"], false);
  EXPECT_EQ(status["servers"][0]["requests"], 5);
  EXPECT_EQ(status["servers"][1]["backup"], true);
  EXPECT_TRUE(status["servers"][0]["last_check"].contains("status"));
  // A response is counted once its last byte is written, which the client
  // may see first: wait for the fifth.
  const std::string fifth = "nines_lb_server_responses_total{server=\"a\",code=\"2xx\"} 5";
  std::string metrics;
  EXPECT_TRUE(WaitUntil(
      [&] {
        metrics = AdminGet("/metrics");
        return metrics.find(fifth) != std::string::npos;
      },
      5000))
      << metrics;
  for (const char* series :
       {"nines_lb_server_responses_total{server=\"a\",code=\"2xx\"} 5",
        "nines_lb_server_up{server=\"a\"} 1", "nines_lb_request_duration_seconds_bucket{le=",
        "nines_lb_retries_total", "nines_lb_server_ejections_total{server=\"a\"} 0"}) {
    EXPECT_NE(metrics.find(series), std::string::npos) << series;
  }
}

TEST_F(Lb, BadConfigExitsTwoWithFileLineColumn) {
  WriteFile(dir_ + "/bad.toml",
            "listen = \"127.0.0.1:8080\"\nadmin = \"127.0.0.1:99999\"\nretries = \"x\"\n"
            "bogus = 1\n[[server]]\nname = \"a\"\naddress = \"nowhere\"\n");
  for (const char* cmd : {"check", "lb"}) {
    ChildProcess p({NinesBinary(), cmd, "--config", dir_ + "/bad.toml"}, dir_ + "/" + cmd + ".log");
    EXPECT_EQ(p.Wait(10000), 2) << cmd;
    std::string log = p.Log();
    std::string file = dir_ + "/bad.toml";
    EXPECT_NE(log.find(file + ":2:9: 'admin': bad address"), std::string::npos) << log;
    EXPECT_NE(log.find(file + ":3:11: 'retries' must be an integer"), std::string::npos) << log;
    EXPECT_NE(log.find(file + ":4:1: unknown key 'bogus'"), std::string::npos) << log;
    EXPECT_NE(log.find(file + ":7:11: 'server[0].address': bad address"), std::string::npos) << log;
  }
}

// ---- Streaming: a raw server in the test process -------------------------

// Answers /healthz, streams `bytes` zero bytes for GET /download, and counts
// the body of POST /upload.
class RawServer {
 public:
  RawServer(const std::string& host, int port, uint64_t bytes) : bytes_(bytes) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 64) != 0) {
      ADD_FAILURE() << "raw server cannot listen";
    }
    thread_ = std::thread([this] { Accept(); });
  }
  ~RawServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (auto& t : workers_) t.join();
  }
  uint64_t uploaded() const { return uploaded_; }

 private:
  void Accept() {
    while (true) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      workers_.emplace_back([this, c] { Serve(c); });
    }
  }
  void Serve(int c) {
    std::string in;
    char buf[65536];
    while (true) {
      size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = recv(c, buf, sizeof(buf), 0);
        if (n <= 0) return (void)close(c);
        in.append(buf, static_cast<size_t>(n));
      }
      std::string head = in.substr(0, end + 4);
      in.erase(0, end + 4);
      if (head.rfind("GET /download", 0) == 0) {
        std::string h = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(bytes_) + "\r\n\r\n";
        send(c, h.data(), h.size(), MSG_NOSIGNAL);
        std::string zeros(1 << 20, '\0');
        for (uint64_t sent = 0; sent < bytes_;) {
          size_t chunk = static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes_ - sent));
          ssize_t n = send(c, zeros.data(), chunk, MSG_NOSIGNAL);
          if (n <= 0) return (void)close(c);
          sent += static_cast<uint64_t>(n);
        }
      } else if (head.rfind("POST /upload", 0) == 0) {
        uint64_t got = in.size();
        in.clear();
        while (got < bytes_) {
          ssize_t n = recv(c, buf, sizeof(buf), 0);
          if (n <= 0) return (void)close(c);
          got += static_cast<uint64_t>(n);
        }
        uploaded_ = got;
        std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        send(c, r.data(), r.size(), MSG_NOSIGNAL);
      } else {
        std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
        send(c, r.data(), r.size(), MSG_NOSIGNAL);
      }
    }
  }
  uint64_t bytes_;
  int fd_;
  std::atomic<uint64_t> uploaded_{0};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// 256 MiB: four times the bound below, so a balancer that buffered the body
// (or a quarter of it) fails; a larger body proves nothing more and costs time.
constexpr uint64_t kBigBody = 256ull << 20;

TEST_F(Lb, HugeBodiesStreamInBoundedMemory) {
  specs_ = {{"raw"}};
  RawServer raw(BackendHost(0), 8081, kBigBody);
  WriteConfig({{"raw"}});
  StartLb();
  int64_t rss_start = RssKb(lb_.pid());
  int64_t rss_max = rss_start;

  http::ClientConnection c;
  ASSERT_TRUE(c.Connect(host_, 8080));
  ASSERT_TRUE(c.Send("GET /download HTTP/1.1\r\nHost: t\r\n\r\n"));
  // Read the response by hand, sampling the balancer's memory as it flows.
  uint64_t received = 0;
  char buf[1 << 16];
  std::string head;
  int since_sample = 0;
  while (received < kBigBody) {
    ssize_t n = recv(c.fd(), buf, sizeof(buf), 0);
    ASSERT_GT(n, 0) << "download cut short at " << received;
    size_t offset = 0;
    if (head.find("\r\n\r\n") == std::string::npos) {
      head.append(buf, static_cast<size_t>(n));
      size_t end = head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      offset = static_cast<size_t>(n) - (head.size() - end - 4);
    }
    received += static_cast<uint64_t>(n) - offset;
    if (++since_sample == 128) {  // at least every 8 MiB
      since_sample = 0;
      rss_max = std::max(rss_max, RssKb(lb_.pid()));
    }
  }
  EXPECT_EQ(received, kBigBody);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(kBigBody)), std::string::npos);

  http::ClientConnection u;
  ASSERT_TRUE(u.Connect(host_, 8080));
  ASSERT_TRUE(u.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(kBigBody) + "\r\n\r\n"));
  std::string zeros(1 << 20, '\0');
  for (uint64_t sent = 0; sent < kBigBody; sent += zeros.size()) {
    ASSERT_TRUE(u.Send(zeros));
    if ((sent >> 20) % 8 == 0) rss_max = std::max(rss_max, RssKb(lb_.pid()));
  }
  http::ClientResponse r = u.Read("POST", 30000);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(raw.uploaded(), kBigBody);
  // Bounded: the balancer's memory grows by a few buffers, not by the body.
  EXPECT_LT(rss_max - rss_start, 64 * 1024)
      << "RSS grew from " << rss_start << " kB to " << rss_max << " kB";
}

}  // namespace
}  // namespace nines::test
