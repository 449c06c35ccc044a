// At-most-once application of retried writes. A follower forwards a write to
// the leader under (origin member, request id); when it retries the write
// (a lost connection, a new leader) it reuses that id, and the leader wraps
// the command with it. At apply time every member looks the id up in this
// table: a repeat is not applied again but answered with the first result.
//
// The table is state-machine state: it changes only when entries are
// applied, is bounded by a count and a byte budget with oldest-first
// eviction (decided by log order alone, so identical on every member), and is
// kept in snapshots (see KvState::Serialize).
//
// An evicted id is not forgotten: the table keeps the ranges of evicted ids
// per origin (ids of one boot count up, so they merge into about one range
// per boot), and a retry whose id falls in one is answered "outcome unknown"
// instead of being applied a second time. The ranges are bounded too: past
// kMaxEvictedRanges the one least recently extended is dropped (a retry
// comes within a request timeout, not after thousands of boots).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace nines::store {

struct RequestKey {
  uint64_t origin = 0;  // Raft id of the member that first took the request
  uint64_t id = 0;      // that member's request id (store/request_id.h)
  bool operator<(const RequestKey& o) const {
    return origin != o.origin ? origin < o.origin : id < o.id;
  }
  bool operator==(const RequestKey& o) const { return origin == o.origin && id == o.id; }
};

// Entry payload of a deduplicated write: 'F', u64 origin, u64 id, then the
// encoded KvCommand (which starts with its version byte, never 'F').
inline constexpr char kDedupMarker = 'F';
std::string WrapDeduplicated(const RequestKey& key, std::string_view command);
// True (with key and command) when payload is wrapped.
bool UnwrapDeduplicated(std::string_view payload, RequestKey* key, std::string_view* command);

class RequestDedup {
 public:
  // Bounds, the same on every member (they decide evictions). A retry comes
  // within one request timeout, so 100k writes is far more than enough.
  static constexpr size_t kMaxEntries = 100000;
  static constexpr size_t kMaxBytes = 32u << 20;
  static constexpr size_t kEntryOverhead = 64;  // bytes counted per entry besides the result

  // Ranges of evicted ids kept (over all origins), and the largest distance
  // from a range at which an evicted id extends it instead of starting one
  // (boots draw random 64-bit nonces, so two boots' ids are far apart).
  static constexpr size_t kMaxEvictedRanges = 4096;
  static constexpr uint64_t kMaxRangeGap = 1u << 16;

  // The result recorded for key (encoded by the caller), or nullptr.
  const std::string* Find(const RequestKey& key) const;
  // True when key's id lies in a range of evicted ids of its origin: it may
  // have been applied, and its result is gone.
  bool Evicted(const RequestKey& key) const;
  // Records the first application of key at log index; evicts the oldest
  // entries beyond the bounds. A key already present is left as it is.
  void Record(const RequestKey& key, uint64_t index, std::string result);
  void Clear();

  size_t size() const { return entries_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t evictions() const { return evictions_; }  // since start (a metric, not state)
  size_t evicted_ranges() const { return evicted_.size(); }

  // Appends the table (oldest first) to out.
  void Serialize(std::string* out) const;
  // Replaces the table with the one encoded at the start of in; *used is the
  // number of bytes read.
  Status Deserialize(std::string_view in, size_t* used);

 private:
  struct Entry {
    uint64_t index = 0;
    std::string result;
  };
  struct EvictedRange {
    uint64_t hi = 0;          // last evicted id of the range (lo is the map key)
    uint64_t last_index = 0;  // log index of the entry it was last extended for
  };
  void Evict();
  // Adds key's id to its origin's ranges (extending or merging them).
  void RememberEvicted(const RequestKey& key, uint64_t index);
  void AddRange(uint64_t origin, uint64_t lo, EvictedRange range);

  std::map<RequestKey, Entry> entries_;
  std::deque<RequestKey> order_;  // application order, oldest first
  size_t bytes_ = 0;
  uint64_t evictions_ = 0;
  std::map<std::pair<uint64_t, uint64_t>, EvictedRange> evicted_;  // (origin, lo) -> range
};

}  // namespace nines::store
