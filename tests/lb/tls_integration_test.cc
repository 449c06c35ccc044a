// nines lb's [tls] listener with real processes: SNI per name through curl
// --cacert (HTTP/1.1 and --http2, which settles on http/1.1 without [h2];
// with [h2], ALPN picks h2 and the HTTP/2 front end serves it), a certificate swapped on disk +
// SIGHUP while a long download continues, hostile handshakes (cut, stalled, garbage, too many)
// closed while a well-behaved client is served, resumption, redirect and HSTS, and `nines check` on
// certificate problems.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "lb/lb_fixture.h"
#include "support/test_tls.h"

namespace nines::test {
namespace {

constexpr int kTlsPort = 8443;

class LbTls : public LbFixture {
 protected:
  void SetUp() override {
    LbFixture::SetUp();
    ca_ = MakeTestCa(dir_);
    serial_a_ = MakeTestLeaf(ca_, dir_ + "/a", {"a.test"});
    MakeTestLeaf(ca_, dir_ + "/b", {"b.test", "*.b.test"});
  }
  std::string TlsTable(const std::string& more = "") {
    return "[tls]\nlisten = \"" + host_ + ":" + std::to_string(kTlsPort) + "\"\n" + more +
           "\n[[tls.certificate]]\ncert = \"a.pem\"\nkey = \"a.key\"\n"
           "[[tls.certificate]]\ncert = \"b.pem\"\nkey = \"b.key\"\n";
  }
  // Runs curl; returns its exit status, *out its output.
  int Curl(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv = {"/usr/bin/env", "curl", "-sS", "--max-time", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    static int n = 0;
    std::string log = dir_ + "/curl-" + std::to_string(n++) + ".log";
    ChildProcess curl(argv, log);
    int status = curl.Wait(15000);
    *out = curl.Log();
    return status;
  }
  std::string Resolve(const std::string& name) {
    return name + ":" + std::to_string(kTlsPort) + ":" + host_;
  }
  std::string Url(const std::string& name, const std::string& path) {
    return "https://" + name + ":" + std::to_string(kTlsPort) + path;
  }
  nlohmann::json Tls() {
    auto status = nlohmann::json::parse(AdminGet("/status"), nullptr, false);
    return status.is_discarded() ? nlohmann::json() : status["tls"];
  }
  int RawConnect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(kTlsPort);
    inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  // True once the balancer closed `fd` (EOF or reset), within timeout_ms.
  static bool ClosedWithin(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buffer[256];
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    return n <= 0;
  }
  bool GoodRequest(const std::string& name = "a.test") {
    TlsTestClient c;
    if (!c.Connect(host_, kTlsPort, name, ca_.cert_file)) return false;
    if (!c.Send("GET / HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n")) return false;
    return c.ReadResponseBody() == "a\n";
  }

  TestCa ca_;
  std::string serial_a_;
};

TEST_F(LbTls, CurlGetsTheCertificateOfEachSniNameOverHttp11AndHttp2) {
  StartAll({{"a"}}, TlsTable());
  for (const std::string name : {"a.test", "b.test", "www.b.test"}) {
    for (const char* version : {"--http1.1", "--http2"}) {
      std::string out;
      int status = Curl(
          {version, "--cacert", ca_.cert_file, "--resolve", Resolve(name), Url(name, "/headers")},
          &out);
      EXPECT_EQ(status, 0) << name << " " << version << ": " << out;
      EXPECT_NE(out.find("X-Forwarded-Proto: https"), std::string::npos) << out;
      EXPECT_NE(out.find("Host: " + name), std::string::npos) << out;
    }
  }
  // The names themselves, and the default for a name no certificate has.
  struct Case {
    std::string sni, cn;
  };
  for (const Case& c : std::vector<Case>{{"a.test", "a.test"},
                                         {"B.TEST", "b.test"},
                                         {"x.b.test", "b.test"},
                                         {"other.test", "a.test"},
                                         {"", "a.test"}}) {
    TlsTestClient client;
    ASSERT_TRUE(client.Connect(host_, kTlsPort, c.sni, ca_.cert_file, nullptr, false))
        << c.sni << ": " << client.error();
    EXPECT_EQ(client.PeerCommonName(), c.cn) << "SNI " << c.sni;
  }
  // A name without a certificate fails verification in curl (the default's name differs).
  std::string out;
  EXPECT_NE(
      Curl({"--cacert", ca_.cert_file, "--resolve", Resolve("other.test"), Url("other.test", "/")},
           &out),
      0);
  EXPECT_EQ(Tls()["handshakes"]["ok"].get<int>() >= 6, true) << Tls().dump();
}

TEST_F(LbTls, SwappedCertificateAndSighupServeNewConnectionsWhileAnOldDownloadCompletes) {
  StartAll({{"a"}}, TlsTable());
  constexpr size_t kSize = 32 << 20;
  TlsTestClient old;
  ASSERT_TRUE(old.Connect(host_, kTlsPort, "a.test", ca_.cert_file)) << old.error();
  ASSERT_EQ(old.PeerSerial(), serial_a_);
  ASSERT_TRUE(
      old.Send("GET /bytes?n=" + std::to_string(kSize) + " HTTP/1.1\r\nHost: a.test\r\n\r\n"));
  std::string head = old.Read(16384);
  ASSERT_NE(head.find("200 OK"), std::string::npos) << head;
  size_t received = head.size() - (head.find("\r\n\r\n") + 4);

  std::string serial_new = MakeTestLeaf(ca_, dir_ + "/a", {"a.test"});  // same files, new cert
  ASSERT_NE(serial_new, serial_a_);
  lb_.Signal(SIGHUP);
  EXPECT_TRUE(WaitUntil(
      [&] {
        TlsTestClient fresh;
        return fresh.Connect(host_, kTlsPort, "a.test", ca_.cert_file) &&
               fresh.PeerSerial() == serial_new;
      },
      5000))
      << "new connections still get the old certificate:\n"
      << lb_.Log();
  EXPECT_TRUE(GoodRequest());

  while (received < kSize) {
    std::string more = old.Read(1 << 16, 10000);
    ASSERT_FALSE(more.empty()) << "the old download stopped at " << received << " bytes";
    received += more.size();
  }
  EXPECT_EQ(received, kSize);
  EXPECT_EQ(old.PeerSerial(), serial_a_);
}

TEST_F(LbTls, CutStalledAndGarbageHandshakesAreClosedWhileAGoodClientIsServed) {
  StartAll({{"a"}}, TlsTable("handshake_timeout_ms = 600\n"));
  std::atomic<bool> stop{false};
  std::atomic<int> good{0}, bad{0};
  std::thread client([&] {
    while (!stop.load()) (GoodRequest() ? good : bad).fetch_add(1);
  });

  // A ClientHello record that claims 512 bytes and stops after a few.
  const std::string cut_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03zzzzzzzzzzzzzz", 25);
  int stalled = RawConnect();      // says nothing
  int cut_stalled = RawConnect();  // half a ClientHello, then nothing
  int cut_closed = RawConnect();   // half a ClientHello, then FIN
  int garbage = RawConnect();      // not TLS at all
  ASSERT_TRUE(stalled >= 0 && cut_stalled >= 0 && cut_closed >= 0 && garbage >= 0);
  ::send(cut_stalled, cut_hello.data(), cut_hello.size(), 0);
  ::send(cut_closed, cut_hello.data(), cut_hello.size(), 0);
  ::shutdown(cut_closed, SHUT_WR);
  std::string junk = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n" + std::string(300, '\x01');
  ::send(garbage, junk.data(), junk.size(), 0);

  EXPECT_TRUE(ClosedWithin(cut_closed, 3000))
      << "a ClientHello cut by FIN left the connection open";
  EXPECT_TRUE(ClosedWithin(garbage, 3000)) << "garbage left the connection open";
  EXPECT_TRUE(ClosedWithin(stalled, 5000)) << "a silent client outlived handshake_timeout_ms";
  EXPECT_TRUE(ClosedWithin(cut_stalled, 5000)) << "a stalled ClientHello outlived the timeout";
  for (int fd : {stalled, cut_stalled, cut_closed, garbage}) ::close(fd);

  EXPECT_TRUE(WaitUntil([&] { return good.load() >= 20; }, 10000));
  stop = true;
  client.join();
  EXPECT_EQ(bad.load(), 0) << "the well-behaved client failed while others misbehaved";
  nlohmann::json tls = Tls();
  EXPECT_GE(tls["handshakes"]["timeout"].get<int>(), 2) << tls.dump();
  EXPECT_GE(tls["handshakes"]["failed"].get<int>(), 2) << tls.dump();
  std::string metrics = AdminGet("/metrics");
  EXPECT_NE(metrics.find("nines_lb_tls_handshakes_total{result=\"timeout\"}"), std::string::npos);
}

TEST_F(LbTls, HandshakesBeyondMaxHandshakesAreClosedAtOnce) {
  StartAll({{"a"}}, TlsTable("handshake_timeout_ms = 20000\nmax_handshakes = 2\n"));
  int first = RawConnect();
  int second = RawConnect();
  ASSERT_TRUE(WaitUntil([&] { return Tls()["handshakes"]["in_progress"] == 2; }, 5000))
      << Tls().dump();
  int third = RawConnect();
  EXPECT_TRUE(ClosedWithin(third, 3000)) << "a third handshake was let in";
  EXPECT_EQ(Tls()["handshakes"]["rejected"].get<int>(), 1);
  ::close(first);
  ::close(second);
  ::close(third);
  EXPECT_TRUE(WaitUntil([&] { return Tls()["handshakes"]["in_progress"] == 0; }, 5000));
  EXPECT_TRUE(GoodRequest());
}

TEST_F(LbTls, TicketsResumeSessionsAndCountThem) {
  StartAll({{"a"}}, TlsTable());
  SSL_SESSION* session = nullptr;
  for (int i = 0; i < 3; ++i) {
    TlsTestClient c;
    ASSERT_TRUE(c.Connect(host_, kTlsPort, "a.test", ca_.cert_file, session)) << c.error();
    EXPECT_EQ(c.Resumed(), i > 0) << "connection " << i;
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"));
    ASSERT_EQ(c.ReadResponseBody(), "a\n") << c.error();
    if (session) SSL_SESSION_free(session);
    session = c.TakeSession();
  }
  SSL_SESSION_free(session);
  EXPECT_EQ(Tls()["handshakes"]["resumed"].get<int>(), 2) << Tls().dump();
}

TEST_F(LbTls, PlainListenerRedirectsAndHttpsResponsesCarryHsts) {
  StartAll({{"a"}}, TlsTable("redirect_http = true\nhsts_max_age_s = 31536000\n"));
  http::ClientResponse r = Get("/path?q=1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 308);
  EXPECT_EQ(r.Header("Location"), "https://test:8443/path?q=1");
  EXPECT_EQ(BackendCount(0), 0);

  TlsTestClient c;
  ASSERT_TRUE(c.Connect(host_, kTlsPort, "a.test", ca_.cert_file)) << c.error();
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"));
  std::string response = c.Read(16384);
  EXPECT_NE(response.find("Strict-Transport-Security: max-age=31536000\r\n"), std::string::npos)
      << response;
}

TEST_F(LbTls, WithH2TableAlpnPicksH2AndCurlGetsHttp2WithHsts) {
  StartAll({{"a"}}, TlsTable("hsts_max_age_s = 600\n") + "\n[h2]\nmax_concurrent_streams = 50\n");
  std::string out;
  int status = Curl({"--http2", "-D", "-", "-w", "\nversion=%{http_version}\n", "--cacert",
                     ca_.cert_file, "--resolve", Resolve("a.test"), Url("a.test", "/headers")},
                    &out);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("version=2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP/2 200"), std::string::npos) << out;
  EXPECT_NE(out.find("strict-transport-security: max-age=600"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Forwarded-Proto: https"), std::string::npos) << out;
  // HTTP/1.1 clients are still served on the same listener.
  status = Curl({"--http1.1", "-w", "\nversion=%{http_version}\n", "--cacert", ca_.cert_file,
                 "--resolve", Resolve("a.test"), Url("a.test", "/")},
                &out);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("version=1.1\n"), std::string::npos) << out;
  EXPECT_GE(Tls()["handshakes"]["ok"].get<int>(), 2) << Tls().dump();
}

TEST_F(LbTls, H2AlpnFalseKeepsTlsOnHttp11) {
  StartAll({{"a"}}, TlsTable() + "\n[h2]\nalpn = false\n");
  std::string out;
  int status = Curl({"--http2", "-w", "\nversion=%{http_version}\n", "--cacert", ca_.cert_file,
                     "--resolve", Resolve("a.test"), Url("a.test", "/")},
                    &out);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("version=1.1\n"), std::string::npos) << out;
}

TEST_F(LbTls, CheckReportsCertificateProblemsAtTheirPosition) {
  MakeTestLeaf(ca_, dir_ + "/old", {"old.test"}, -30, -1);
  MakeTestLeaf(ca_, dir_ + "/soon", {"soon.test"}, -1, 5);
  auto check = [&](const std::string& cert, const std::string& key, std::string* out) {
    WriteFile(config_path(), "listen = \"" + host_ + ":8080\"\nadmin = \"" + host_ +
                                 ":9901\"\n[tls]\nlisten = \"" + host_ +
                                 ":8443\"\n[[tls.certificate]]\ncert = \"" + cert + "\"\nkey = \"" +
                                 key + "\"\n[[server]]\nname = \"a\"\n" +
                                 "address = \"127.0.0.1:1\"\n");
    ChildProcess p({NinesBinary(), "check", "--config", config_path()}, dir_ + "/check.log");
    int status = p.Wait(10000);
    *out = p.Log();
    return status;
  };
  std::string out;
  EXPECT_EQ(check("old.pem", "old.key", &out), 2);
  EXPECT_NE(out.find(config_path() + ":6:8: "), std::string::npos) << out;
  EXPECT_NE(out.find("expired"), std::string::npos) << out;

  EXPECT_EQ(check("a.pem", "b.key", &out), 2);
  EXPECT_NE(out.find("does not match"), std::string::npos) << out;

  EXPECT_EQ(check("soon.pem", "soon.key", &out), 0) << out;
  EXPECT_NE(out.find(config_path() + ":6:8: warning: "), std::string::npos) << out;
  EXPECT_NE(out.find("expires in"), std::string::npos) << out;
}

}  // namespace
}  // namespace nines::test
