// The in-memory fake store: one poll loop, requests parsed with the app's
// own RESP reply parser (a request is an array of bulk strings).
#include "fake_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "app/resp_reply.h"

namespace nines::app {
namespace {

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

bool Upper(const std::string& a, const char* b) {
  if (a.size() != std::char_traits<char>::length(b)) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

bool IsWrite(const std::string& cmd) {
  return Upper(cmd, "SET") || Upper(cmd, "INCR") || Upper(cmd, "DEL") || Upper(cmd, "MSETNX") ||
         Upper(cmd, "PEXPIRE");
}

// Redis's glob with only '*' (what the app uses).
bool Match(std::string_view pattern, std::string_view s) {
  if (pattern.empty()) return s.empty();
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i) {
      if (Match(pattern.substr(1), s.substr(i))) return true;
    }
    return false;
  }
  return !s.empty() && pattern[0] == s[0] && Match(pattern.substr(1), s.substr(1));
}

}  // namespace

FakeStore::FakeStore(const std::string& host, int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  bound_ =
      ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && ::listen(fd_, 64) == 0;
  thread_ = std::thread([this] { Serve(); });
}

FakeStore::~FakeStore() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void FakeStore::Expire(const std::string& key) {
  auto e = expiry_.find(key);
  if (e == expiry_.end() || e->second > std::chrono::steady_clock::now()) return;
  expiry_.erase(e);
  data_.erase(key);
}

void FakeStore::ExpireAll() {
  std::vector<std::string> keys;
  for (const auto& [k, t] : expiry_) keys.push_back(k);
  for (const std::string& k : keys) Expire(k);
}

std::string FakeStore::Get(const std::string& key) {
  std::lock_guard lock(mu_);
  Expire(key);
  auto it = data_.find(key);
  return it == data_.end() ? "" : it->second;
}

void FakeStore::Set(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  data_[key] = value;
  expiry_.erase(key);
}

void FakeStore::SetWithTtl(const std::string& key, const std::string& value, int64_t ttl_ms) {
  std::lock_guard lock(mu_);
  data_[key] = value;
  expiry_[key] = std::chrono::steady_clock::now() + std::chrono::milliseconds(ttl_ms);
}

size_t FakeStore::CountPrefix(const std::string& prefix) {
  std::lock_guard lock(mu_);
  ExpireAll();
  size_t n = 0;
  for (const auto& [k, v] : data_) n += k.rfind(prefix, 0) == 0;
  return n;
}

void FakeStore::FailWrites(const std::string& prefix, const std::string& error) {
  std::lock_guard lock(mu_);
  fail_prefix_ = prefix;
  fail_error_ = error;
}

void FakeStore::HoldWrites(const std::string& prefix) {
  std::lock_guard lock(mu_);
  hold_prefix_ = prefix;
  holding_ = true;
}

void FakeStore::Release() {
  std::lock_guard lock(mu_);
  holding_ = false;
}

bool FakeStore::Answer(const std::vector<std::string>& args, std::string* out) {
  const std::string& cmd = args[0];
  if (Upper(cmd, "PING")) {
    *out += "+PONG\r\n";
    return true;
  }
  if (no_leader_) {
    *out += "-TRYAGAIN no leader\r\n";
    return true;
  }
  std::lock_guard lock(mu_);
  if (IsWrite(cmd) && args.size() > 1) {
    if (holding_ && !hold_prefix_.empty() && args[1].rfind(hold_prefix_, 0) == 0) return false;
    if (!fail_prefix_.empty() && args[1].rfind(fail_prefix_, 0) == 0) {
      *out += fail_error_ + "\r\n";
      return true;
    }
  }
  ExpireAll();
  if (Upper(cmd, "GET") && args.size() == 2) {
    auto it = data_.find(args[1]);
    *out += it == data_.end() ? "$-1\r\n" : Bulk(it->second);
  } else if (Upper(cmd, "SET") && args.size() >= 3) {
    bool nx = false;
    int64_t px = -1;
    for (size_t i = 3; i < args.size(); ++i) {
      nx = nx || Upper(args[i], "NX");
      if (Upper(args[i], "PX") && i + 1 < args.size()) px = std::atoll(args[++i].c_str());
    }
    if (nx && data_.count(args[1])) {
      *out += "$-1\r\n";
    } else {
      data_[args[1]] = args[2];
      expiry_.erase(args[1]);
      if (px > 0) {
        expiry_[args[1]] = std::chrono::steady_clock::now() + std::chrono::milliseconds(px);
      }
      *out += "+OK\r\n";
    }
  } else if (Upper(cmd, "PEXPIRE") && args.size() == 3) {
    bool exists = data_.count(args[1]) > 0;
    if (exists) {
      expiry_[args[1]] =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(std::atoll(args[2].c_str()));
    }
    *out += exists ? ":1\r\n" : ":0\r\n";
  } else if (Upper(cmd, "PTTL") && args.size() == 2) {
    auto e = expiry_.find(args[1]);
    long long ms = !data_.count(args[1]) ? -2
                   : e == expiry_.end()  ? -1
                                         : std::chrono::duration_cast<std::chrono::milliseconds>(
                                              e->second - std::chrono::steady_clock::now())
                                              .count();
    *out += ":" + std::to_string(ms) + "\r\n";
  } else if (Upper(cmd, "MSETNX") && args.size() >= 3 && args.size() % 2 == 1) {
    bool any = false;
    for (size_t i = 1; i < args.size(); i += 2) any = any || data_.count(args[i]) > 0;
    if (!any) {
      for (size_t i = 1; i < args.size(); i += 2) {
        data_[args[i]] = args[i + 1];
        expiry_.erase(args[i]);
      }
    }
    *out += any ? ":0\r\n" : ":1\r\n";
  } else if (Upper(cmd, "INCR") && args.size() == 2) {
    long long n = data_.count(args[1]) ? std::atoll(data_[args[1]].c_str()) : 0;
    data_[args[1]] = std::to_string(++n);
    *out += ":" + std::to_string(n) + "\r\n";
  } else if (Upper(cmd, "DEL")) {
    int n = 0;
    for (size_t i = 1; i < args.size(); ++i) {
      n += static_cast<int>(data_.erase(args[i]));
      expiry_.erase(args[i]);
    }
    *out += ":" + std::to_string(n) + "\r\n";
  } else if (Upper(cmd, "MGET")) {
    *out += "*" + std::to_string(args.size() - 1) + "\r\n";
    for (size_t i = 1; i < args.size(); ++i) {
      auto it = data_.find(args[i]);
      *out += it == data_.end() ? "$-1\r\n" : Bulk(it->second);
    }
  } else if (Upper(cmd, "SCAN") && args.size() >= 2) {
    // One page with every match: cursor 0 back.
    std::string pattern = "*";
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      if (Upper(args[i], "MATCH")) pattern = args[i + 1];
    }
    std::vector<std::string> keys;
    for (const auto& [k, v] : data_) {
      if (Match(pattern, k)) keys.push_back(k);
    }
    *out += "*2\r\n" + Bulk("0") + "*" + std::to_string(keys.size()) + "\r\n";
    for (const std::string& k : keys) *out += Bulk(k);
  } else {
    *out += "-ERR unknown command or arity\r\n";
  }
  return true;
}

void FakeStore::Serve() {
  std::vector<Conn> conns;
  while (!stop_) {
    std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
    for (const Conn& c : conns) fds.push_back({c.fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 5);
    if (fds[0].revents & POLLIN) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c >= 0) conns.push_back(Conn{c, "", {}});
    }
    int held = 0;
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      // A connection accepted just now was not polled: read it next round.
      if (i + 1 < fds.size() && (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) {
        char chunk[65536];
        ssize_t n = ::recv(c.fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
          ::close(c.fd);
          c.fd = -1;
          continue;
        }
        c.in.append(chunk, static_cast<size_t>(n));
        while (true) {
          RespReply request;
          size_t used = 0;
          std::string error;
          RespReplyLimits limits;
          limits.max_array_len = 1u << 20;
          if (ParseRespReply(c.in, limits, &request, &used, &error) != RespParse::kReply) break;
          c.in.erase(0, used);
          std::vector<std::string> args;
          for (const RespReply& e : request.elements) args.push_back(e.text);
          if (!args.empty()) c.queue.push_back(std::move(args));
        }
      }
      std::string out;
      size_t done = 0;
      while (done < c.queue.size() && Answer(c.queue[done], &out)) ++done;
      c.queue.erase(c.queue.begin(), c.queue.begin() + static_cast<long>(done));
      held += static_cast<int>(c.queue.size());
      if (!out.empty()) ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    }
    held_count_ = held;
    for (size_t i = conns.size(); i-- > 0;) {
      if (conns[i].fd < 0) conns.erase(conns.begin() + static_cast<long>(i));
    }
  }
  for (Conn& c : conns) ::close(c.fd);
}

}  // namespace nines::app
