// The RESP front end against the real Redis tools: a minimal single-threaded
// poll(2) server (test only) runs the parser and the command table over a
// local state with an apply-at-once replicator; redis-cli and
// redis-benchmark (from the redis-tools package) talk to it. Skipped when the
// tools are not installed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/commands.h"
#include "store/kv_command.h"
#include "store/resp_parser.h"
#include "store/resp_writer.h"

namespace nines::store {
namespace {

class TinyServer {
 public:
  TinyServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 128), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~TinyServer() {
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) ::close(c->fd);
    ::close(listen_fd_);
  }
  int port() const { return port_; }

 private:
  struct Conn {
    int fd;
    std::string in;
    std::string out;
    resp::RequestParser parser;
    ClientSession session;
    bool closing = false;
  };

  void Serve(Conn& c) {
    while (true) {
      resp::ParseResult r = c.parser.Parse(c.in);
      if (r == resp::ParseResult::kError) {
        resp::ReplyWriter(&c.out).Error("ERR " + c.parser.error());
        c.closing = true;
        return;
      }
      if (r == resp::ParseResult::kNeedMore) {
        c.in.erase(0, c.parser.consumed());
        return;
      }
      CommandContext context{&config_, &info_, 1'700'000'000'000, state_.memory_bytes()};
      CommandPlan plan;
      PrepareCommand(c.parser.args(), c.session, context, &plan, &c.out);
      if (plan.kind == PlanKind::kRead) {
        ExecuteRead(plan, c.parser.args(), context, state_, &c.out);
      } else if (plan.kind == PlanKind::kWrite) {
        FormatWriteReply(plan, state_.Apply(++index_, plan.proposal), &c.out);
      }
      c.in.erase(0, c.parser.consumed());
      if (c.session.close_after_reply) {
        c.closing = true;
        return;
      }
    }
  }

  void Loop() {
    uint64_t next_id = 1;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& c : conns_) {
        fds.push_back({c->fd, static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
      }
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) {
          ::fcntl(fd, F_SETFL, O_NONBLOCK);
          auto c = std::make_unique<Conn>();
          c->fd = fd;
          c->session.id = next_id++;
          conns_.push_back(std::move(c));
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        Conn& c = *conns_[i - 1];
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          char buf[65536];
          ssize_t n = ::read(c.fd, buf, sizeof(buf));
          if (n <= 0) {
            c.closing = true;
            c.out.clear();
          } else {
            c.in.append(buf, static_cast<size_t>(n));
            Serve(c);
          }
        }
        while (!c.out.empty()) {
          ssize_t n = ::write(c.fd, c.out.data(), c.out.size());
          if (n <= 0) break;
          c.out.erase(0, static_cast<size_t>(n));
        }
      }
      for (size_t i = 0; i < conns_.size();) {
        if (conns_[i]->closing && conns_[i]->out.empty()) {
          ::close(conns_[i]->fd);
          conns_.erase(conns_.begin() + static_cast<long>(i));
        } else {
          ++i;
        }
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::unique_ptr<Conn>> conns_;
  KvState state_;
  uint64_t index_ = 0;
  CommandConfig config_;
  ServerInfo info_;
};

bool HaveTool(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

std::string Shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  ::pclose(pipe);
  return output;
}

TEST(RedisTools, RedisCliCommands) {
  if (!HaveTool("redis-cli")) GTEST_SKIP() << "redis-cli not installed";
  TinyServer server;
  const std::string cli = "timeout 10 redis-cli -p " + std::to_string(server.port()) + " ";
  EXPECT_EQ(Shell(cli + "PING"), "PONG\n");
  EXPECT_EQ(Shell(cli + "SET greeting 'hello world'"), "OK\n");
  EXPECT_EQ(Shell(cli + "GET greeting"), "hello world\n");
  EXPECT_EQ(Shell(cli + "INCRBY n 41"), "41\n");
  EXPECT_EQ(Shell(cli + "INCR n"), "42\n");
  EXPECT_EQ(Shell(cli + "--no-raw GET nope"), "(nil)\n");
  EXPECT_EQ(Shell(cli + "GET"), "ERR wrong number of arguments for 'get' command\n\n");
  EXPECT_EQ(Shell(cli + "SELECT 0"), "OK\n");
  EXPECT_EQ(Shell(cli + "--no-raw MGET greeting n nope"),
            "1) \"hello world\"\n2) \"42\"\n3) (nil)\n");
  // Interactive mode (commands on stdin), as a person at the prompt.
  std::string interactive = Shell("printf 'SET a 1\\nGET a\\nDBSIZE\\nQUIT\\n' | " + cli);
  EXPECT_EQ(interactive, "OK\n1\n3\n");  // redis-cli exits on QUIT without printing
  std::string info = Shell(cli + "INFO replication");
  EXPECT_NE(info.find("role:master"), std::string::npos) << info;
}

TEST(RedisTools, RedisBenchmarkPipelinedCompletesWithoutErrors) {
  if (!HaveTool("redis-benchmark")) GTEST_SKIP() << "redis-benchmark not installed";
  TinyServer server;
  std::string out = Shell("timeout 60 redis-benchmark -p " + std::to_string(server.port()) +
                          " -t set,get,incr,mset -n 20000 -P 16 -c 4 -q");
  for (const char* test : {"SET:", "GET:", "INCR:", "MSET (10 keys):"}) {
    EXPECT_NE(out.find(test), std::string::npos) << test << " missing in:\n" << out;
  }
  EXPECT_EQ(out.find("ERR"), std::string::npos) << out;
  EXPECT_EQ(out.find("rror"), std::string::npos) << out;
  EXPECT_EQ(out.find("WARNING"), std::string::npos) << out;
  std::printf("%s", out.c_str());
}

}  // namespace
}  // namespace nines::store
