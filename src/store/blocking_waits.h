// The clients blocked by BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN and
// BZPOPMAX on the leader, and the order they are served in. Leader-local:
// nothing here is replicated. A blocked client's pop is an ordinary write
// proposed through the log when one of its keys holds a value of its type,
// so the state machine stays the same on every member; this only decides
// who proposes a pop, when.
//
// Order (Redis's): the clients blocked on a key are served first come, first
// served. When a key becomes non-empty, its longest-waiting clients are woken
// (kReady, with that key) one per available element; a woken client is "in
// flight" until its pop is applied: then it is removed (served), or waits
// again in its old place (Rearm: the element went to a write proposed
// before its pop). Deadlines and the loss of leadership answer the clients
// that are not in flight (kTimeout, kLeaderLost); an in-flight pop is
// answered by its write. Bounded: at most kMaxBlockedClients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/kv_value.h"

namespace nines::store {

enum class BlockWake : uint8_t {
  kReady,       // pop from `key` now (propose it), then Remove or Rearm
  kTimeout,     // the client's timeout passed: reply the nil array (removed)
  kLeaderLost,  // this member stopped leading: reply kErrBlockedLeaderLost (removed)
};

inline constexpr size_t kMaxBlockedClients = 100000;
inline constexpr std::string_view kErrBlockedLeaderLost =
    "UNBLOCKED leadership moved while the client was blocked; nothing was popped, retry";
inline constexpr std::string_view kErrTooManyBlocked =
    "ERR too many blocked clients on this member (100000)";

class BlockingWaits {
 public:
  using Wake = std::function<void(BlockWake wake, const std::string& key)>;
  // How many elements of type key holds now (0 if absent or another type).
  using Available = std::function<size_t(std::string_view key, ValueType type)>;

  // A client blocked on keys (in the order it named them) for a value of
  // type; deadline_ms 0 waits forever. Its id, or 0 when full. The keys are
  // looked at by the next ServeReady (a value may already be there).
  uint64_t Add(std::vector<std::string> keys, ValueType type, int64_t deadline_ms, Wake wake);
  // After kReady: the pop found nothing; it waits again in its old place.
  // False if the client is gone (FailAll ran meanwhile).
  bool Rearm(uint64_t id);
  // Served, or its connection closed. No-op if gone.
  void Remove(uint64_t id);
  // A write changed key (it may hold values now).
  void KeyTouched(std::string_view key);
  // Wakes (kReady) the longest-waiting clients of the touched keys, one per
  // element available that no pop in flight will take.
  void ServeReady(const Available& available);
  // Answers (kTimeout) the clients not in flight whose deadline is <= now_ms.
  void ExpireDue(int64_t now_ms);
  // Leadership was lost: every client not in flight gets kLeaderLost; every
  // client is dropped (an in-flight one is answered by its write).
  void FailAll();

  size_t size() const { return clients_.size(); }
  bool HasTouched() const { return !touched_.empty(); }

 private:
  struct Client {
    std::vector<std::string> keys;
    ValueType type = ValueType::kList;
    int64_t deadline_ms = 0;
    bool in_flight = false;
    std::string flight_key;
    Wake wake;
  };
  void Unindex(uint64_t id, const Client& c);

  uint64_t next_id_ = 0;
  std::map<uint64_t, Client> clients_;  // ids grow: map order is arrival order
  std::unordered_map<std::string, std::set<uint64_t>> by_key_;
  std::unordered_map<std::string, size_t> in_flight_by_key_;
  std::set<std::string, std::less<>> touched_;
};

}  // namespace nines::store
