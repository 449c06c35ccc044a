// Sharded LRU table of GCRA states.
#include "ratelimit/keyed_limiter.h"

#include <algorithm>

namespace nines::ratelimit {

KeyedRateLimiter::KeyedRateLimiter(GcraParams params, size_t max_keys, size_t shards)
    : params_(params), max_keys_(std::max<size_t>(1, max_keys)) {
  shards = std::max<size_t>(1, std::min(shards, max_keys_));
  for (size_t i = 0; i < shards; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->head.prev = shard->head.next = &shard->head;
    // Capacities add up to max_keys exactly.
    shard->capacity = max_keys_ / shards + (i < max_keys_ % shards ? 1 : 0);
    shard->map.reserve(std::min<size_t>(shard->capacity, 1024));
    shards_.push_back(std::move(shard));
  }
}

KeyedRateLimiter::~KeyedRateLimiter() = default;

void KeyedRateLimiter::Unlink(Node* n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
}

void KeyedRateLimiter::PushFront(Shard& shard, Node* n) {
  n->next = shard.head.next;
  n->prev = &shard.head;
  shard.head.next->prev = n;
  shard.head.next = n;
}

GcraDecision KeyedRateLimiter::Take(std::string_view client_key, int64_t now_ns) {
  std::array<char, KeyDigester::kDigestSize> scratch;
  std::string_view key = digester_.Form(client_key, &scratch);
  size_t h = Hash()(key);
  // The low bits pick the bucket inside the shard's map; use high bits here.
  Shard& shard = *shards_[(h >> 48) % shards_.size()];
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(key);
  Node* node;
  if (it != shard.map.end()) {
    node = &it->second;
    Unlink(node);
  } else {
    if (shard.map.size() >= shard.capacity) {
      Node* oldest = shard.head.prev;
      Unlink(oldest);
      shard.map.erase(*oldest->key);
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    auto [inserted, ok] = shard.map.emplace(std::string(key), Node());
    node = &inserted->second;
    node->key = &inserted->first;
  }
  PushFront(shard, node);
  return GcraTake(params_, &node->tat, now_ns);
}

size_t KeyedRateLimiter::memory_bytes() const {
  // A hash node: next pointer, cached hash, key, state; plus malloc's header.
  constexpr size_t kEntryBytes =
      sizeof(void*) + sizeof(size_t) + sizeof(std::string) + sizeof(Node) + 16;
  size_t bytes = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    bytes += shard->map.size() * kEntryBytes + shard->map.bucket_count() * sizeof(void*);
  }
  return bytes;
}

size_t KeyedRateLimiter::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    n += shard->map.size();
  }
  return n;
}

}  // namespace nines::ratelimit
