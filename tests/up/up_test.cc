// `nines up` end to end on the built-in blueprint: DNS answers by client subnet, an order written
// through one region is read through another, every single-process kill and a whole-region stop
// leave orders working through the surviving regions, and SIGINT leaves no
// process behind. Uses the blueprint's fixed addresses; stops everything by
// PID even when an assertion fails.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::test {
namespace {

using nlohmann::json;

std::string RunShell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  return out;
}

// Every address of the answer, sorted: "127.0.2.1 127.0.2.2" ("" for none).
// The addresses DNS answers for `subnet`, nearest region's lbs only, sorted:
// the blueprint lists the next-nearest region's lbs after them as fallbacks
// (dns.toml fallback_addresses), so the leading run of addresses in the first
// one's region (127.0.N.x).
std::string DigNearest(const std::string& server, const std::string& subnet) {
  std::string out = RunShell("dig @" + server + " -p 5353 shop.test A +subnet=" + subnet +
                             " +short +time=1 +tries=1 2>&1");
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) lines.push_back(out.substr(start, end - start));
    start = end + 1;
  }
  if (!lines.empty()) {
    std::string region = lines[0].substr(0, lines[0].rfind('.') + 1);
    size_t own = 1;
    while (own < lines.size() && lines[own].rfind(region, 0) == 0) ++own;
    lines.resize(own);
  }
  std::sort(lines.begin(), lines.end());
  std::string joined;
  for (const std::string& l : lines) joined += (joined.empty() ? "" : " ") + l;
  return joined;
}

// Every lb address is up at DNS server `host` and passed its last check.
bool DnsSeesEveryLbUp(const std::string& host) {
  http::ClientResponse r = http::Get(host, 9953, "/status", http::ClientOptions().Timeout(2000));
  if (!r.ok || r.status != 200) return false;
  json s = json::parse(r.body, nullptr, false);
  if (!s.is_object() || !s["regions"].is_array()) return false;
  for (const json& region : s["regions"]) {
    for (const json& a : region["addresses"]) {
      if (!a.value("up", false) || !a["last_check"].is_object() ||
          !a["last_check"].value("ok", false)) {
        return false;
      }
    }
  }
  return true;
}

bool ChainExists() {
  return RunShell("iptables -w -S NINES-UP 2>/dev/null").find("-N NINES-UP") != std::string::npos;
}

bool Alive(pid_t pid) {
  return pid > 0 && kill(pid, 0) == 0;
}

// The run directory of the current UpRun.
std::string& RunDir() {
  static std::string dir;
  return dir;
}

// `nines up` and every PID it reported; the destructor kills whatever is left.
class UpRun {
 public:
  explicit UpRun(const std::string& dir)
      : up_({NinesBinary(), "up", "--fresh", "--dir", dir + "/run"}, dir + "/up.log") {
    RunDir() = dir + "/run";
  }
  ~UpRun() {
    if (up_.running()) up_.Stop(SIGKILL, 5000);
    if (ChainExists()) {  // nines up died before removing it
      RunShell(
          "iptables -w -D INPUT -j NINES-UP; iptables -w -D OUTPUT -j NINES-UP; "
          "iptables -w -F NINES-UP; iptables -w -X NINES-UP");
    }
    for (pid_t pid : pids_) {
      if (Alive(pid)) kill(pid, SIGKILL);
    }
  }
  ChildProcess& process() { return up_; }

  json State() {
    http::ClientResponse r =
        http::Get("127.0.0.1", 9900, "/api/state", http::ClientOptions().Timeout(2000));
    if (!r.ok || r.status != 200) return json();
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) return json();
    for (const json& n : j["nodes"]) {
      if (n["pid"].get<int>() > 0) pids_.insert(n["pid"].get<int>());
    }
    return j;
  }
  json Node(const std::string& name) {
    json s = State();
    if (!s.is_object()) return json();
    for (const json& n : s["nodes"]) {
      if (n["name"] == name) return n;
    }
    return json();
  }
  bool AllRunning() {
    json s = State();
    if (!s.is_object()) return false;
    for (const json& n : s["nodes"]) {
      if (n["state"] != "running") return false;
    }
    return true;
  }
  const std::set<pid_t>& pids() const { return pids_; }

 private:
  ChildProcess up_;
  std::set<pid_t> pids_;
};

// The admin token `nines up` generated in its run directory.
std::string AdminToken() {
  std::ifstream in(RunDir() + "/conf/admin.token");
  std::string token;
  std::getline(in, token);
  return token;
}

http::ClientOptions WithToken(const std::string& token) {
  return http::ClientOptions().Timeout(3000).Headers("Authorization: Bearer " + token + "\r\n");
}

bool Post(const std::string& path) {
  http::ClientResponse r = http::Post("127.0.0.1", 9900, path, "{}", WithToken(AdminToken()));
  return r.ok && r.status == 200;
}

// Creates an order through `write_host` and reads it back through `read_host`.
bool OrderRoundTrip(const std::string& write_host, const std::string& read_host, std::string* why) {
  http::ClientResponse w = http::Post(write_host, 8080, "/orders", R"({"item":"book","qty":1})",
                                      http::ClientOptions().Timeout(5000));
  if (!w.ok || w.status != 201) {
    *why = "POST via " + write_host + ": " +
           (w.ok ? std::to_string(w.status) + " " + w.body : w.error);
    return false;
  }
  json order = json::parse(w.body, nullptr, false);
  if (!order.is_object() || !order.contains("id")) {
    *why = "POST answer without id: " + w.body;
    return false;
  }
  std::string id = order["id"].get<std::string>();
  http::ClientResponse r =
      http::Get(read_host, 8080, "/orders/" + id, http::ClientOptions().Timeout(5000));
  if (!r.ok || r.status != 200) {
    *why =
        "GET via " + read_host + ": " + (r.ok ? std::to_string(r.status) + " " + r.body : r.error);
    return false;
  }
  json read = json::parse(r.body, nullptr, false);
  if (!read.is_object() || read.value("id", "") != id) {
    *why = "GET returned another order: " + r.body;
    return false;
  }
  return true;
}

// Orders keep working through the regions in `hosts`: within a short window
// for the failover, then several round trips in a row without a failure.
void ExpectOrdersWork(const std::vector<std::string>& hosts, const std::string& after) {
  std::string why;
  bool ok = WaitUntil([&] { return OrderRoundTrip(hosts[0], hosts[1], &why); }, 15000, 100);
  ASSERT_TRUE(ok) << "after " << after << ": " << why;
  for (int i = 0; i < 6; ++i) {
    const std::string& a = hosts[i % hosts.size()];
    const std::string& b = hosts[(i + 1) % hosts.size()];
    EXPECT_TRUE(OrderRoundTrip(a, b, &why)) << "after " << after << ": " << why;
  }
}

void KillAndCheck(UpRun& up, const std::string& node, const std::vector<std::string>& hosts) {
  SCOPED_TRACE("kill " + node);
  int pid = up.Node(node).value("pid", 0);
  ASSERT_GT(pid, 0) << node;
  ASSERT_TRUE(Post("/api/nodes/" + node + "/kill"));
  ASSERT_TRUE(WaitUntil([&] { return !Alive(pid); }, 5000));
  EXPECT_TRUE(WaitUntil([&] { return up.Node(node).value("state", "") == "stopped"; }, 3000));
  ExpectOrdersWork(hosts, "killing " + node);
  ASSERT_TRUE(Post("/api/nodes/" + node + "/restart"));
  ASSERT_TRUE(WaitUntil([&] { return up.AllRunning(); }, 20000)) << node << " did not come back";
}

// Every admin listener of the blueprint takes the generated token: a change
// without it, or with a wrong one, is refused (401) and nothing changes; with
// it, done. The dashboard's API, an lb's drain and a dns server's reload.
void ExpectAdminApisNeedTheToken(UpRun& up) {
  SCOPED_TRACE("admin APIs need the token");
  const std::string node = "us-east-app-2";
  int pid = up.Node(node).value("pid", 0);
  ASSERT_GT(pid, 0);
  http::ClientOptions no_token = http::ClientOptions().Timeout(3000);
  for (const http::ClientOptions& options : {no_token, WithToken("guess")}) {
    http::ClientResponse r =
        http::Post("127.0.0.1", 9900, "/api/nodes/" + node + "/kill", "{}", options);
    EXPECT_EQ(r.status, 401) << r.body;
  }
  EXPECT_TRUE(Alive(pid));
  EXPECT_EQ(up.Node(node).value("state", ""), "running");
  // An lb's drain: refused without the token, done with it, and undone.
  const std::string lb = "127.0.1.1";
  auto lb_state = [&](const std::string& server) {
    json j = json::parse(http::Get(lb, 9901, "/status").body, nullptr, false);
    if (!j.is_object()) return std::string();
    for (const json& s : j["servers"]) {
      if (s["name"] == server) return s["state"].get<std::string>();
    }
    return std::string();
  };
  ASSERT_TRUE(WaitUntil([&] { return lb_state(node) == "up"; }, 10000)) << lb_state(node);
  EXPECT_EQ(http::Post(lb, 9901, "/servers/" + node + "/drain", "{}", no_token).status, 401);
  EXPECT_EQ(lb_state(node), "up");
  EXPECT_EQ(
      http::Post(lb, 9901, "/servers/" + node + "/drain", "{}", WithToken(AdminToken())).status,
      200);
  EXPECT_EQ(lb_state(node), "draining");
  EXPECT_EQ(
      http::Post(lb, 9901, "/servers/" + node + "/enable", "{}", WithToken(AdminToken())).status,
      200);
  EXPECT_TRUE(WaitUntil([&] { return lb_state(node) == "up"; }, 10000)) << lb_state(node);
  // A dns server's reload.
  std::string dns_admin = up.Node("dns-1").value("admin", "");
  ASSERT_FALSE(dns_admin.empty());
  EXPECT_EQ(http::FetchAddress(dns_admin, "POST", "/reload", "{}", no_token).status, 401);
  EXPECT_EQ(http::FetchAddress(dns_admin, "POST", "/reload", "{}", WithToken(AdminToken())).status,
            200);
}

TEST(UpTest, WholeBlueprint) {
  std::string dir = TestDir("up_whole_blueprint");
  UpRun up(dir);
  ChildProcess& p = up.process();
  ASSERT_TRUE(WaitUntil(
      [&] { return p.Log().find("the blueprint is running") != std::string::npos; }, 60000, 100))
      << p.Log();
  ASSERT_TRUE(up.AllRunning());
  std::string log = p.Log();
  EXPECT_NE(log.find("http://127.0.0.1:9900/"), std::string::npos) << log;
  // The admin token: generated in the run directory (0600), printed once.
  std::string token_file = dir + "/run/conf/admin.token";
  struct stat st {};
  ASSERT_EQ(::stat(token_file.c_str(), &st), 0) << token_file;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(AdminToken().size(), 64u);
  EXPECT_NE(log.find("dashboard http://127.0.0.1:9900/#token=" + AdminToken()), std::string::npos);
  ExpectAdminApisNeedTheToken(up);
  EXPECT_NE(log.find("127.0.0.2:5353"), std::string::npos) << log;
  EXPECT_NE(log.find("http://127.0.2.1:8080/"), std::string::npos) << log;

  // 2: DNS by client subnet, write in us-west, read in eu-west.
  EXPECT_TRUE(WaitUntil(
      [] { return DigNearest("127.0.0.1", "10.2.0.0/24") == "127.0.2.1 127.0.2.2"; }, 15000, 200))
      << DigNearest("127.0.0.1", "10.2.0.0/24");
  EXPECT_TRUE(WaitUntil(
      [] { return DigNearest("127.0.0.2", "10.3.0.0/24") == "127.0.3.1 127.0.3.2"; }, 15000, 200))
      << DigNearest("127.0.0.2", "10.3.0.0/24");
  ExpectOrdersWork({"127.0.2.1", "127.0.3.1"}, "start");

  // The store's leader as the API reports it.
  std::string leader;
  ASSERT_TRUE(WaitUntil(
      [&] {
        json s = up.State();
        if (!s.is_object() || s["store"]["leader"].is_null()) return false;
        leader = s["store"]["leader"].get<std::string>();
        return true;
      },
      10000));

  // 3: each single process, then a whole region.
  KillAndCheck(up, "us-east-app-1", {"127.0.1.1", "127.0.2.1", "127.0.3.1"});
  KillAndCheck(up, "us-west-lb-1", {"127.0.2.2", "127.0.1.1", "127.0.3.1"});
  KillAndCheck(up, leader, {"127.0.1.1", "127.0.2.1", "127.0.3.1"});
  {
    SCOPED_TRACE("kill dns-1");
    ASSERT_TRUE(Post("/api/nodes/dns-1/kill"));
    // dns-2 alone answers (it may still be counting us-west's lb-1 back up).
    EXPECT_TRUE(WaitUntil(
        [] { return DigNearest("127.0.0.2", "10.2.0.0/24") == "127.0.2.1 127.0.2.2"; }, 10000, 200))
        << DigNearest("127.0.0.2", "10.2.0.0/24");
    ASSERT_TRUE(Post("/api/nodes/dns-1/restart"));
    ASSERT_TRUE(WaitUntil([&] { return up.AllRunning(); }, 20000));
  }
  {
    SCOPED_TRACE("stop region us-east");
    ASSERT_TRUE(Post("/api/regions/us-east/stop"));
    EXPECT_TRUE(WaitUntil(
        [&] {
          json s = up.State();
          if (!s.is_object()) return false;
          for (const json& n : s["nodes"]) {
            if (n["region"] == "us-east" && n["state"] != "stopped") return false;
          }
          return true;
        },
        3000));
    ExpectOrdersWork({"127.0.2.1", "127.0.3.1"}, "stopping us-east");
    // us-east's users fail over to the nearest healthy region.
    EXPECT_TRUE(WaitUntil(
        [] {
          std::string a = DigNearest("127.0.0.1", "10.1.0.0/24");
          return a == "127.0.2.1 127.0.2.2" || a == "127.0.3.1 127.0.3.2";
        },
        10000, 200))
        << DigNearest("127.0.0.1", "10.1.0.0/24");
    ASSERT_TRUE(Post("/api/regions/us-east/start"));
    EXPECT_TRUE(WaitUntil([&] { return up.AllRunning(); }, 20000));
  }

  // A process that dies on its own (not through the API) is restarted.
  {
    json before = up.Node("eu-west-app-2");
    int pid = before.value("pid", 0);
    ASSERT_GT(pid, 0);
    kill(pid, SIGKILL);
    EXPECT_TRUE(WaitUntil(
        [&] {
          json n = up.Node("eu-west-app-2");
          return n.value("state", "") == "running" && n.value("pid", 0) != pid &&
                 n.value("restarts", 0) == before.value("restarts", 0) + 1;
        },
        10000))
        << up.Node("eu-west-app-2").dump();
  }

  // Isolate adds our own iptables chain; heal of the last node removes it,
  // and so does the exit (an isolated node is left for SIGINT to clean up).
  bool root = geteuid() == 0 && !RunShell("command -v iptables").empty();
  if (root) {
    ASSERT_TRUE(Post("/api/nodes/us-east-app-2/isolate"));
    EXPECT_NE(RunShell("iptables -w -S NINES-UP").find("127.0.1.12"), std::string::npos);
    EXPECT_EQ(up.Node("us-east-app-2").value("state", ""), "isolated");
    ASSERT_TRUE(Post("/api/nodes/us-east-app-2/heal"));
    EXPECT_FALSE(ChainExists());
    ASSERT_TRUE(Post("/api/nodes/us-west-app-2/isolate"));
    EXPECT_TRUE(ChainExists());
  }

  // 5: SIGINT stops every process it started.
  up.State();
  std::set<pid_t> pids = up.pids();
  ASSERT_GE(pids.size(), 20u);
  EXPECT_EQ(p.Stop(SIGINT, 20000), 0) << p.Log();
  for (pid_t pid : pids) EXPECT_FALSE(Alive(pid)) << "pid " << pid << " still running";
  EXPECT_NE(p.Log().find("nothing left running"), std::string::npos);
  if (root) {
    EXPECT_FALSE(ChainExists());
  }
}

// No single point of failure per region. A region has two load
// balancers and DNS answers with both; killing one leaves the other in the
// region's answer (never an address of another region) and serving orders
// from the first request on; the dead one is dropped and comes back when it
// is restarted.
TEST(UpTest, KillingOneLbKeepsTheRegionOnTheOther) {
  std::string dir = TestDir("up_two_lbs");
  UpRun up(dir);
  ChildProcess& p = up.process();
  ASSERT_TRUE(WaitUntil(
      [&] { return p.Log().find("the blueprint is running") != std::string::npos; }, 60000, 100))
      << p.Log();
  // Serving through both lbs, and each DNS server has checked every lb since
  // (lbs answer 503 until their apps are up).
  ExpectOrdersWork({"127.0.2.1", "127.0.2.2"}, "start");
  const std::string both = "127.0.2.1 127.0.2.2";
  for (const char* dns : {"127.0.0.1", "127.0.0.2"}) {
    ASSERT_TRUE(WaitUntil([&] { return DnsSeesEveryLbUp(dns); }, 15000, 100)) << dns;
    EXPECT_EQ(DigNearest(dns, "10.2.0.0/24"), both) << dns;
  }
  json lb2 = up.Node("us-west-lb-2");
  ASSERT_TRUE(lb2.is_object()) << "no us-west-lb-2: " << up.State().dump();
  ASSERT_EQ(lb2.value("state", ""), "running") << lb2.dump();
  EXPECT_EQ(lb2.value("address", ""), "127.0.2.2:8080");

  int pid = up.Node("us-west-lb-1").value("pid", 0);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(Post("/api/nodes/us-west-lb-1/kill"));
  ASSERT_TRUE(WaitUntil([&] { return !Alive(pid); }, 5000));
  // The survivor serves at once: no waiting for DNS or health checks.
  std::string why;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(OrderRoundTrip("127.0.2.2", "127.0.2.2", &why)) << "right after the kill: " << why;
  }
  // Every answer meanwhile is the region's own: both lbs until the health
  // checks drop the dead one, then the survivor alone.
  for (const char* dns : {"127.0.0.1", "127.0.0.2"}) {
    std::string last;
    bool dropped = WaitUntil(
        [&] {
          last = DigNearest(dns, "10.2.0.0/24");
          EXPECT_TRUE(last == both || last == "127.0.2.2") << dns << " answered " << last;
          return last == "127.0.2.2";
        },
        10000, 100);
    EXPECT_TRUE(dropped) << dns << " still answers " << last;
  }
  ExpectOrdersWork({"127.0.2.2", "127.0.3.1"}, "killing us-west-lb-1");

  ASSERT_TRUE(Post("/api/nodes/us-west-lb-1/restart"));
  ASSERT_TRUE(WaitUntil([&] { return up.AllRunning(); }, 20000));
  for (const char* dns : {"127.0.0.1", "127.0.0.2"}) {
    EXPECT_TRUE(WaitUntil([&] { return DigNearest(dns, "10.2.0.0/24") == both; }, 15000, 200))
        << dns << " after the restart: " << DigNearest(dns, "10.2.0.0/24");
  }
  ExpectOrdersWork({"127.0.2.1", "127.0.2.2"}, "restarting us-west-lb-1");
  up.State();
  EXPECT_EQ(p.Stop(SIGINT, 20000), 0) << p.Log();
  for (pid_t child : up.pids()) EXPECT_FALSE(Alive(child)) << "pid " << child << " still running";
}

}  // namespace
}  // namespace nines::test
