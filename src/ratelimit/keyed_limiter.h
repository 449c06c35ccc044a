// Per-client rate limits: one GCRA per key (client address or header value)
// in a table of bounded size. The table is split into shards, each with its
// own lock, hash map and least-recently-seen list; when a shard is full the
// key seen longest ago is evicted (and counted). A flood of distinct keys
// therefore costs a fixed amount of memory and cannot slow down the others.
// Keys are stored in a fixed-size form (KeyDigester): a key of 60 KB costs
// what a key of 15 bytes does, so memory is bounded in bytes, not only keys.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ratelimit/gcra.h"
#include "ratelimit/key_digest.h"

namespace nines::ratelimit {

class KeyedRateLimiter {
 public:
  KeyedRateLimiter(GcraParams params, size_t max_keys, size_t shards = 64);
  ~KeyedRateLimiter();

  GcraDecision Take(std::string_view key, int64_t now_ns);

  const GcraParams& params() const { return params_; }
  size_t max_keys() const { return max_keys_; }
  size_t size() const;
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  // Bytes the table holds: entries (key form, state, list links, the hash
  // node and allocator overhead) and bucket arrays.
  size_t memory_bytes() const;

 private:
  struct Node {
    int64_t tat = 0;
    Node* prev = nullptr;
    Node* next = nullptr;
    const std::string* key = nullptr;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Node, Hash, Equal> map;
    size_t capacity = 1;
    Node head;  // sentinel: head.next is the most recently seen
  };

  static void Unlink(Node* n);
  static void PushFront(Shard& shard, Node* n);

  GcraParams params_;
  size_t max_keys_;
  KeyDigester digester_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace nines::ratelimit
