// Test helpers for `nines store` clusters of real processes: a blocking RESP2
// client, a group of members (configs, start/stop, /status, leader search)
// on one loopback address or one address per member (127.0.N.1, .2, ...).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "http/client.h"
#include "support/process.h"
#include "support/wait.h"

namespace nines::test {

// A tiny blocking RESP2 client: one command, one reply, bounded by timeouts.
class RespClient {
 public:
  ~RespClient() { Close(); }
  bool Connect(const std::string& host, int port, int timeout_ms = 1000) {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    if (rc != 0 && errno != EINPROGRESS) return Fail();
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return Fail();
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Fail();
    return true;
  }
  // Sends the command; returns the raw reply ("" on error or timeout).
  std::string Call(const std::vector<std::string>& args, int timeout_ms = 4000) {
    if (!Send(args, timeout_ms)) return "";
    return ReadReply(timeout_ms);
  }
  // Sends the command without waiting for its reply (pipelining).
  bool Send(const std::vector<std::string>& args, int timeout_ms = 4000) {
    if (fd_ < 0) return false;
    std::string req = "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& a : args) req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    size_t off = 0;
    while (off < req.size()) {
      ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        pollfd p{fd_, POLLOUT, 0};
        if (n < 0 && errno == EAGAIN && ::poll(&p, 1, timeout_ms) == 1) continue;
        return Fail();
      }
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Sends every command in one write (a pipeline the server reads at once).
  bool SendPipeline(const std::vector<std::vector<std::string>>& commands) {
    if (fd_ < 0) return false;
    std::string req;
    for (const std::vector<std::string>& args : commands) {
      req += "*" + std::to_string(args.size()) + "\r\n";
      for (const std::string& a : args) {
        req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
      }
    }
    return ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }
  // The next reply, in order ("" on error or timeout). close_on_timeout
  // false: a timeout leaves the connection open (waiting for a push that
  // may not come).
  std::string ReadReply(int timeout_ms = 4000, bool close_on_timeout = true) {
    if (fd_ < 0) return "";
    auto deadline = SteadyMs() + timeout_ms;
    while (true) {
      size_t len = ReplyLength(buffer_, 0);
      if (len > 0) {
        std::string reply = buffer_.substr(0, len);
        buffer_.erase(0, len);
        return reply;
      }
      int64_t left = deadline - SteadyMs();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) {
        if (close_on_timeout) Fail();
        return "";
      }
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        Fail();
        return "";
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  bool connected() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

 private:
  bool Fail() {
    Close();
    return false;
  }
  static size_t ReplyLength(const std::string& in, size_t pos) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return 0;
    char t = in[pos];
    if (t == '$') {
      long n = std::atol(in.substr(pos + 1, eol - pos - 1).c_str());
      if (n < 0) return eol + 2 - pos;
      size_t end = eol + 2 + static_cast<size_t>(n) + 2;
      return end <= in.size() ? end - pos : 0;
    }
    if (t == '*') {
      long n = std::atol(in.substr(pos + 1, eol - pos - 1).c_str());
      size_t at = eol + 2;
      for (long i = 0; i < n; ++i) {
        size_t l = ReplyLength(in, at);
        if (l == 0) return 0;
        at += l;
      }
      return at - pos;
    }
    return eol + 2 - pos;
  }
  int fd_ = -1;
  std::string buffer_;
};

inline std::string Bulk(const std::string& v) {
  return "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
}

struct Member {
  std::string id;
  std::string host;
  int client = 0;
  int http = 0;
  int peer = 0;
  std::string config;
  std::string log;
  std::vector<std::string> env;  // NAME=VALUE set for this member's process
  ChildProcess process;
};

class StoreGroup {
 public:
  // Members s1..sN on 127.0.NET.1 (different ports), or with distinct_hosts
  // on 127.0.NET.1, .2, .3, ... (same ports), which firewall rules can tell apart.
  // The last `joiners` members are not in the others' [[member]] lists: they
  // start with `join = true` and wait to be added with POST /v1/members.
  StoreGroup(const std::string& name, int net, int size = 3, int election_ms = 300,
             bool distinct_hosts = false, int joiners = 0) {
    dir_ = TestDir("store_" + name);
    host_ = "127.0." + std::to_string(net) + ".1";
    members_.resize(size);
    for (int i = 0; i < size; ++i) {
      Member& m = members_[i];
      m.id = "s" + std::to_string(i + 1);
      m.host =
          distinct_hosts ? "127.0." + std::to_string(net) + "." + std::to_string(i + 1) : host_;
      int port_offset = distinct_hosts ? 0 : i;
      m.client = 16380 + port_offset;
      m.http = 17380 + port_offset;
      m.peer = 18380 + port_offset;
    }
    for (int i = 0; i < size; ++i) {
      Member& m = members_[i];
      auto addr = [&m](int port) { return m.host + ":" + std::to_string(port); };
      std::string text = "id = \"" + m.id + "\"\ndata_dir = \"" + dir_ + "/" + m.id + "\"\n";
      text += "client = \"" + addr(m.client) + "\"\nhttp = \"" + addr(m.http) + "\"\npeer = \"" +
              addr(m.peer) + "\"\n";
      text += "heartbeat_ms = 50\nelection_ms = " + std::to_string(election_ms) + "\n";
      text += "snapshot_entries = 500\n";
      bool joiner = i >= size - joiners;
      if (joiner) text += "join = true\n";
      for (int k = 0; k < (joiner ? size : size - joiners); ++k) {
        const Member& o = members_[k];
        auto oaddr = [&o](int port) { return o.host + ":" + std::to_string(port); };
        text += "[[member]]\nid = \"" + o.id + "\"\npeer = \"" + oaddr(o.peer) + "\"\nclient = \"" +
                oaddr(o.client) + "\"\nhttp = \"" + oaddr(o.http) + "\"\n";
      }
      m.config = dir_ + "/" + m.id + ".toml";
      m.log = dir_ + "/" + m.id + ".log";
      WriteFile(m.config, text);
    }
  }
  // Adds top-level `key = value` lines to every member's config (before
  // the first [[member]] table); call before the members start.
  void AddConfig(const std::string& lines) {
    for (Member& m : members_) {
      std::ifstream in(m.config);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      text.insert(text.find("[[member]]"), lines);
      WriteFile(m.config, text);
    }
  }
  std::string Addr(int port) const { return host_ + ":" + std::to_string(port); }
  void Start(int i) {
    std::vector<std::string> argv;
    if (!members_[i].env.empty()) {
      argv.push_back("/usr/bin/env");  // execs the member: its pid is the member's
      argv.insert(argv.end(), members_[i].env.begin(), members_[i].env.end());
    }
    argv.insert(argv.end(), {NinesBinary(), "store", "--config", members_[i].config});
    members_[i].process = ChildProcess(argv, members_[i].log + "." + std::to_string(++starts_));
  }
  void StartAll() {
    for (size_t i = 0; i < members_.size(); ++i) Start(static_cast<int>(i));
  }
  std::optional<nlohmann::json> Status(int i) {
    http::ClientResponse r = http::Get(members_[i].host, members_[i].http, "/status",
                                       http::ClientOptions().Timeout(500));
    if (!r.ok || r.status != 200) return std::nullopt;
    return nlohmann::json::parse(r.body, nullptr, false);
  }
  // Index of the member every running member agrees is leader, or -1.
  int Leader(const std::vector<int>& among) {
    int leader = -1;
    for (int i : among) {
      auto s = Status(i);
      if (!s || (*s)["leader"].is_null()) return -1;
      std::string id = (*s)["leader"];
      int idx = std::stoi(id.substr(1)) - 1;
      if (leader != -1 && leader != idx) return -1;
      leader = idx;
    }
    if (leader >= 0) {
      auto s = Status(leader);
      if (!s || (*s)["role"] != "leader") return -1;
    }
    return leader;
  }
  int WaitLeader(const std::vector<int>& among, int timeout_ms = 10000) {
    int leader = -1;
    WaitUntil([&] { return (leader = Leader(among)) >= 0; }, timeout_ms, 20);
    return leader;
  }
  // Member i runs as a follower that knows a leader: a restarted member has rejoined.
  bool IsFollowerWithLeader(int i) {
    auto s = Status(i);
    return s && (*s)["role"] == "follower" && !(*s)["leader"].is_null();
  }
  bool WaitRejoined(int i, int timeout_ms = 10000) {
    return WaitUntil([&] { return IsFollowerWithLeader(i); }, timeout_ms, 20);
  }
  std::vector<int> All() const {
    std::vector<int> v;
    for (size_t i = 0; i < members_.size(); ++i) v.push_back(static_cast<int>(i));
    return v;
  }
  std::string WalDir(int i) const { return dir_ + "/" + members_[i].id + "/wal"; }
  Member& member(int i) { return members_[i]; }
  const std::string& host() const { return host_; }
  size_t size() const { return members_.size(); }

 private:
  std::string dir_;
  std::string host_;
  std::vector<Member> members_;
  int starts_ = 0;
};

// For client threads that run until `stop`: (re)connects c to member i when
// it is not connected, polling for up to 10 s. True when c is connected and
// the client should go on; false when it is stopped or still not connected.
inline bool ConnectUnlessStopped(StoreGroup& g, int i, RespClient& c,
                                 const std::atomic<bool>& stop) {
  if (!c.connected()) {
    WaitUntil([&] { return stop.load() || c.Connect(g.member(i).host, g.member(i).client); }, 10000,
              5);
  }
  return !stop && c.connected();
}

// Reads key from member i's own state (READONLY: no forwarding, no barrier).
inline std::string LocalGet(StoreGroup& g, int i, const std::string& key) {
  RespClient c;
  if (!c.Connect(g.member(i).host, g.member(i).client)) return "";
  c.Call({"READONLY"});
  return c.Call({"GET", key});
}

}  // namespace nines::test
