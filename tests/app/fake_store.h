// An in-memory stand-in for the nines store, for tests of the app: a RESP
// server on one thread that keeps strings in a map and answers GET, SET (NX,
// PX), PEXPIRE, PTTL, INCR, MGET, MSETNX, DEL, SCAN and PING (expiry on the
// steady clock, judged when a key is touched). Tests can make it refuse work without
// a leader (-TRYAGAIN to everything but PING), answer writes to some keys with
// an error, or hold the replies to writes of some keys until released.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nines::app {

class FakeStore {
 public:
  FakeStore(const std::string& host, int port);
  ~FakeStore();
  bool bound() const { return bound_; }

  std::string Get(const std::string& key);  // "" if absent
  void Set(const std::string& key, const std::string& value);
  // SET key value PX ttl_ms.
  void SetWithTtl(const std::string& key, const std::string& value, int64_t ttl_ms);
  size_t CountPrefix(const std::string& prefix);
  // Every command but PING is answered -TRYAGAIN while true.
  void SetNoLeader(bool on) { no_leader_ = on; }
  // Writes to keys starting with `prefix` get `error` ("-ERR ...") instead.
  void FailWrites(const std::string& prefix, const std::string& error);
  // Writes to keys starting with `prefix` are not answered until Release().
  void HoldWrites(const std::string& prefix);
  void Release();
  int held() const { return held_count_.load(); }

 private:
  struct Conn {
    int fd = -1;
    std::string in;
    std::vector<std::vector<std::string>> queue;  // parsed, not yet answered
  };
  void Serve();
  // False: the command is held (and the connection's later ones wait too).
  bool Answer(const std::vector<std::string>& args, std::string* out);

  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> no_leader_{false};
  std::atomic<int> held_count_{0};
  std::mutex mu_;
  // Removes `key` if its expiry has passed (mu_ held).
  void Expire(const std::string& key);
  void ExpireAll();

  std::map<std::string, std::string> data_;
  std::map<std::string, std::chrono::steady_clock::time_point> expiry_;
  std::string fail_prefix_;
  std::string fail_error_;
  std::string hold_prefix_;
  bool holding_ = false;
  std::thread thread_;
};

}  // namespace nines::app
