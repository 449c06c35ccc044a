// The store's state machine: binary-safe keys holding typed values (strings,
// hashes, sets; see kv_value.h) with expiry and a per-key version (the log
// index that last wrote it).
//
// Determinism: Apply depends only on the state and the command bytes. Time is
// the command's leader-stamped now (never this member's clock), and the state
// keeps clock_ms = the largest now applied so far, so time never runs back
// even if a new leader's clock is behind. Expired keys read as absent at the
// `now` a read passes in (raised to clock_ms); they are removed lazily when a
// command touches them, or in bulk by a kPurgeExpired command the leader
// proposes. Commands with randomness (SPOP) draw it at apply time from a
// generator seeded by the log index (KvWriter::Random), never from this
// member: every member picks the same elements.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/key_tombstones.h"
#include "store/kv_command.h"
#include "store/kv_value.h"
#include "store/request_dedup.h"
#include "store/transaction.h"

namespace nines::store {

// The outcome of applying one command, in RESP-like terms; the command table
// turns it into the client's reply (see commands.h).
struct KvResult {
  // kRaw: bulk holds a whole RESP reply (arrays and other shapes).
  enum class Type : uint8_t { kOk, kNil, kInteger, kBulk, kError, kRaw };
  Type type = Type::kOk;
  int64_t integer = 0;
  std::string bulk;      // kBulk: the value; kError: the error text ("ERR ...")
  uint64_t version = 0;  // CAS: new version on success, current one on conflict

  static KvResult Ok() { return {}; }
  static KvResult Nil() { return {Type::kNil, 0, {}, 0}; }
  static KvResult Integer(int64_t v) { return {Type::kInteger, v, {}, 0}; }
  static KvResult Bulk(std::string v) { return {Type::kBulk, 0, std::move(v), 0}; }
  static KvResult Error(std::string text) { return {Type::kError, 0, std::move(text), 0}; }
  static KvResult Raw(std::string resp) { return {Type::kRaw, 0, std::move(resp), 0}; }
};

// Error texts shared with the command table (exactly Redis's).
inline constexpr std::string_view kErrNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kErrStringTooLong =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr std::string_view kCasConflict = "CONFLICT";
inline constexpr std::string_view kErrWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

// Redis's string2ll: optional '-', no leading zeros, no spaces, no '+', fits int64.
bool ParseRedisInt64(std::string_view text, int64_t* value);
// Redis's stringmatchlen glob (*, ?, [abc], [^a-z], \x), iterative: O(n*m).
bool GlobMatch(std::string_view pattern, std::string_view text);

// Every key in the fixed ScanHash order, for SCAN cursors, KEYS and
// snapshots. Keys are bucketed by the top bits of their hash, so doubling the
// buckets keeps the order (and cursors stay valid); a bucket is sorted only
// when it is visited. Insert and erase are O(1) on average, unlike a tree.
class KeyOrderIndex {
 public:
  KeyOrderIndex() { Clear(); }
  // key must stay alive (and unchanged) until it is erased.
  void Insert(std::string_view key);
  void Erase(std::string_view key);
  void Clear();
  size_t size() const { return size_; }
  bool Contains(std::string_view key) const;
  // Calls visit(hash, key) for every key with hash >= from, in (hash, key)
  // order, until visit returns false.
  template <typename Visit>
  void ForEachFrom(uint64_t from, Visit&& visit) const;

 private:
  struct Entry {
    uint64_t hash;
    std::string_view key;
  };
  size_t BucketOf(uint64_t hash) const { return static_cast<size_t>(hash >> shift_); }
  void Grow();

  std::vector<std::vector<Entry>> buckets_;
  int shift_ = 60;  // 64 - log2(bucket count)
  size_t size_ = 0;
};

struct ScanPage {
  uint64_t next_cursor = 0;  // 0 when the iteration is complete
  std::vector<std::string_view> keys;
};

class KvState;

// What an apply function (a command replicated as KvOp::kCommand) may read
// and change while its command is applied: one per applied command, so its
// random draws and its version stamp belong to that log entry.
class KvWriter {
 public:
  // seed: of Random (the log index; a transaction's commands each get their own).
  KvWriter(KvState* state, uint64_t index, uint64_t max_value_bytes, uint64_t seed,
           uint64_t max_elements = 0);
  uint64_t index() const { return index_; }
  int64_t now_ms() const;  // the log time (clock_ms after this command's stamp)
  // The largest string value allowed (carried in the command: the same limit
  // on every member).
  uint64_t max_value_bytes() const { return max_value_bytes_; }
  // The most elements the collection this command grows may hold (carried in
  // the command, KvCommand::integer: the leader's max_*_elements for the
  // command's type; 0 = no bound, as in entries written before it existed).
  bool OverElementLimit(uint64_t size) const { return max_elements_ != 0 && size > max_elements_; }
  // The error for a write refused by OverElementLimit (counted).
  KvResult ElementLimitError(ValueType type);

  // The live entry (an expired one is removed first), or nullptr.
  KvEntry* Find(std::string_view key);
  // Find with a type check: nullptr if absent or (then *wrong_type) of another type.
  KvEntry* FindTyped(std::string_view key, ValueType type, bool* wrong_type);
  // A new empty value of type under key, which must be absent (Find first).
  KvEntry* Create(std::string_view key, ValueType type);
  // After changing e's value in place: stamps the version, settles the
  // memory accounting, and removes the key if it is an empty collection.
  void Changed(std::string_view key, KvEntry* e);
  // Removes key (no-op if absent).
  void Erase(std::string_view key);
  // Sets or clears (0) key's expiry; key must exist.
  void SetExpiry(std::string_view key, int64_t expire_at_ms);
  // Moves from's entry (value, expiry, version) to to, replacing to.
  void Rename(std::string_view from, std::string_view to);
  // Every entry's removal, as FLUSHALL.
  void EraseAll();
  // The next number of a generator seeded by this command's log index.
  uint64_t Random();

 private:
  KvState* state_;
  uint64_t index_;
  uint64_t max_value_bytes_;
  uint64_t rng_;
  uint64_t max_elements_;
};

// Applies one command replicated as KvOp::kCommand; args[0] is its lower-case
// name. Must be deterministic: only the state, args and the writer.
using ApplyFunction = KvResult (*)(KvWriter& writer, std::span<const std::string_view> args);
// The apply function of a command name (lower case), or null. Defined by the
// command table (commands.cc).
ApplyFunction LookupApplyFunction(std::string_view name);

// What a transaction (KvOp::kExec) needs from the command table (defined in
// transaction_commands.cc): a queued read run against the state at its place
// in the transaction (randomness drawn from seed, so every member replies
// alike), and a write's result as the client's reply (reply_kind: a
// WriteReply).
void AppendTransactionRead(std::span<const std::string_view> args, const KvState& state,
                           uint64_t seed, std::string* out);
void AppendTransactionWrite(uint8_t reply_kind, const KvResult& result, std::string* out);

class KvState {
 public:
  KvState() = default;
  KvState(const KvState&) = delete;
  KvState& operator=(const KvState&) = delete;

  // Applies the committed command at log `index` (> applied_index()). A
  // command that does not decode yields an error result, the same on every
  // member.
  // A command wrapped with a request id (store/request_dedup.h) whose id was
  // applied before is not applied again: the first result is returned.
  KvResult Apply(uint64_t index, std::string_view encoded);
  KvResult ApplyCommand(uint64_t index, const KvCommand& command);
  // ApplyCommand for a command that came wrapped with key: applied at most
  // once per key (a repeat consumes its index and returns the first result).
  KvResult ApplyDeduplicated(uint64_t index, const RequestKey& key, const KvCommand& command);

  // WATCH: true if key may have changed after the watch was taken at applied
  // index watch.index, its reads judging expiry at watch.time_ms: written or
  // removed at a later index, expired since (as Redis 7: a key already
  // expired when watched and removed since is no change), or removed so
  // long ago that its tombstone was evicted (conservative). Judged at
  // clock_ms(), the same on every member.
  bool ModifiedSince(const TxWatch& watch) const;

  // --- reads, at a given now (Unix ms; raised to clock_ms()) ---
  // The live entry for key, or nullptr if absent or expired.
  const KvEntry* Find(std::string_view key, int64_t now_ms) const;
  // A random live key (RANDOMKEY), drawn with seed; nullopt if none found.
  std::optional<std::string_view> RandomKey(uint64_t seed, int64_t now_ms) const;
  // Remaining time to live in ms: -2 no such key, -1 no expiry.
  int64_t PttlMs(std::string_view key, int64_t now_ms) const;
  // Live keys (exact: expired-but-not-yet-removed keys are not counted).
  size_t LiveKeyCount(int64_t now_ms) const;
  // SCAN: up to about `count` keys from cursor in a stable hash order; keys
  // present for the whole iteration are returned at least once. Keys with the
  // same hash are never split across pages, so a page may exceed count.
  ScanPage Scan(uint64_t cursor, size_t count, std::string_view pattern, int64_t now_ms) const;
  // KEYS: every live key matching pattern, in hash order, at most limit.
  std::vector<std::string_view> Keys(std::string_view pattern, int64_t now_ms,
                                     size_t limit = SIZE_MAX) const;

  uint64_t applied_index() const { return applied_index_; }
  int64_t clock_ms() const { return clock_ms_; }
  // Stored keys including expired ones not yet removed, and those with a TTL.
  size_t stored_keys() const { return map_.size(); }
  size_t keys_with_expiry() const { return expiry_.size(); }
  // Keys plus ValueBytes of every value (the memory accounting hook).
  uint64_t memory_bytes() const { return memory_bytes_; }
  // Writes refused at a collection's element bound (KvWriter::ElementLimitError).
  uint64_t element_limit_refusals() const { return element_limit_refusals_; }
  // Called with a key after a command changed (or renamed onto) it: the
  // leader's blocked clients (blocking_waits.h) look at it. Not replicated
  // state: each member sets its own; null by default.
  void set_key_listener(std::function<void(std::string_view key)> listener) {
    key_listener_ = std::move(listener);
  }
  const RequestDedup& dedup() const { return dedup_; }
  const KeyTombstones& tombstones() const { return tombstones_; }

  // Whole-state snapshot (deterministic bytes for equal states) and back.
  std::string Serialize() const;
  // Replaces the state; on error the state is left empty.
  Status Deserialize(std::string_view bytes);

  // Invariant check for tests: indexes agree with the map.
  bool CheckIndexes() const;

 private:
  friend class KvWriter;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  using Map = std::unordered_map<std::string, KvEntry, Hash, std::equal_to<>>;

  // The live entry, removing it first if it expired at clock_ms_.
  KvEntry* FindLive(std::string_view key);
  // The entry for key, created empty if missing.
  Map::iterator Upsert(std::string_view key);
  // Makes the value the string value and stamps the version, keeping
  // memory_bytes_ exact.
  void Assign(Map::iterator it, std::string_view value, uint64_t index);
  // Charges memory_bytes_ for the entry's current ValueBytes.
  void Settle(KvEntry& entry);
  // Removes the entry, leaving a tombstone (at applied_index_) for WATCH.
  void Erase(Map::iterator it);
  // FLUSHALL: every entry's removal, with tombstones (or, for more keys than
  // the table keeps, ForgetAll).
  void FlushAll();
  void SetExpiry(Map::iterator it, int64_t expire_at_ms);
  void Clear();
  int64_t Effective(int64_t now_ms) const { return now_ms > clock_ms_ ? now_ms : clock_ms_; }

  KvResult ApplyEncoded(uint64_t index, std::string_view encoded);
  // The first result of key when it was applied before (then index is
  // consumed), else nullptr.
  const KvResult* AppliedBefore(uint64_t index, const RequestKey& key);
  KvResult ApplySet(uint64_t index, const KvCommand& c);
  KvResult ApplyExpire(uint64_t index, const KvCommand& c);
  KvResult ApplyIncrBy(uint64_t index, const KvCommand& c);
  KvResult ApplyTyped(uint64_t index, const KvCommand& c, uint64_t seed);
  // One command's effect (ApplyCommand without the index and clock
  // bookkeeping: a transaction applies many at one index).
  KvResult ApplyOp(uint64_t index, const KvCommand& c, uint64_t seed);
  KvResult ApplyExec(uint64_t index, const KvCommand& c);

  Map map_;
  // SCAN order: every stored key by (ScanHash(key), key).
  KeyOrderIndex scan_index_;
  // Expiry order: (expire_at_ms, key) for every key with a TTL.
  std::set<std::pair<int64_t, std::string_view>> expiry_;
  uint64_t applied_index_ = 0;
  int64_t clock_ms_ = 0;
  std::function<void(std::string_view)> key_listener_;
  uint64_t element_limit_refusals_ = 0;
  uint64_t memory_bytes_ = 0;  // keys + charged value bytes, a rough measure for INFO
  KvCommand scratch_;          // reused by Apply to avoid allocations
  KvResult dedup_result_;      // the repeat's result AppliedBefore returns
  RequestDedup dedup_;         // applied request ids (kept in snapshots, not cleared by FLUSHALL)
  KeyTombstones tombstones_;   // removed keys, for WATCH (kept in snapshots)
};

// The hash SCAN cursors follow (stable across members and restarts).
uint64_t ScanHash(std::string_view key);

template <typename Visit>
void KeyOrderIndex::ForEachFrom(uint64_t from, Visit&& visit) const {
  std::vector<Entry> sorted;
  for (size_t b = BucketOf(from); b < buckets_.size(); ++b) {
    sorted.clear();
    for (const Entry& e : buckets_[b]) {
      if (e.hash >= from) sorted.push_back(e);
    }
    std::sort(sorted.begin(), sorted.end(), [](const Entry& x, const Entry& y) {
      return x.hash != y.hash ? x.hash < y.hash : x.key < y.key;
    });
    for (const Entry& e : sorted) {
      if (!visit(e.hash, e.key)) return;
    }
  }
}

}  // namespace nines::store
