// Deleted keys the state machine remembers for WATCH: a key that is gone now
// may have been created or deleted after a client watched it, and its
// version went with it. The table is replicated state (changed only by
// applied entries, kept in snapshots, bounded with oldest-first eviction
// decided by log order alone), so every member answers "modified since index
// w?" the same way. Past the bound, `horizon` says how far back it still
// knows: a key with no tombstone counts as modified after any w < horizon.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/coding.h"

namespace nines::store {

struct Tombstone {
  uint64_t removed_at = 0;  // log index of the removal
  // The last logical change: removed_at for an explicit removal (DEL, LPOP of
  // the last element, FLUSHALL, ...); for a key removed because it had
  // expired, the index of the write before it (its expiry was the change,
  // at expire_at_ms).
  uint64_t changed_at = 0;
  int64_t expire_at_ms = 0;  // removed on expiry: when it expired; else 0
};

class KeyTombstones {
 public:
  // Bounds, the same on every member.
  static constexpr size_t kMaxEntries = 16384;
  static constexpr size_t kMaxBytes = 4u << 20;
  static constexpr size_t kEntryOverhead = 48;  // bytes counted per entry besides the key

  void Record(std::string_view key, const Tombstone& tombstone);
  // Forgets every tombstone: nothing is known before index any more (a
  // FLUSHALL of more keys than the table holds).
  void ForgetAll(uint64_t index);
  const Tombstone* Find(std::string_view key) const;
  uint64_t horizon() const { return horizon_; }
  size_t size() const { return map_.size(); }
  void Clear();

  // Appends horizon and the eviction queue in order (a restored table
  // evicts exactly as the original would).
  void Serialize(std::string* out) const;
  bool Deserialize(Decoder* decoder);

 private:
  struct Queued {
    uint64_t removed_at;
    std::string_view key;  // the map's key (erased only when this entry is evicted)
  };
  void Evict();

  std::unordered_map<std::string, Tombstone> map_;
  std::deque<Queued> queue_;  // by removal, oldest first; may hold superseded entries
  size_t bytes_ = 0;
  uint64_t horizon_ = 0;
};

}  // namespace nines::store
