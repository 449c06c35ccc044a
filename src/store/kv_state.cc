// The state machine: command application, reads at a given now, SCAN/KEYS,
// and the snapshot encoding. See kv_state.h for the determinism rules.
#include "store/kv_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "base/check.h"
#include "base/coding.h"
#include "store/outcome.h"

namespace nines::store {
namespace {

constexpr uint32_t kSnapshotMagicV1 = 0x314b564e;  // "NVK1": string keys only (older versions)
constexpr uint32_t kSnapshotMagicV2 = 0x324b564e;  // "NVK2": string keys, then the dedup table
constexpr uint32_t kSnapshotMagicV3 = 0x334b564e;  // "NVK3": typed values, then the dedup table
constexpr uint32_t kSnapshotMagic = 0x344b564e;    // "NVK4": NVK3 with WATCH's tombstones

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}

std::string FormatInt(int64_t v) {
  return fmt::format("{}", v);
}

// A result as kept in the dedup table: type, integer, version, bulk.
void EncodeResult(const KvResult& r, std::string* out) {
  out->push_back(static_cast<char>(r.type));
  PutFixed64(out, static_cast<uint64_t>(r.integer));
  PutFixed64(out, r.version);
  out->append(r.bulk);
}

bool DecodeResult(std::string_view in, KvResult* r) {
  if (in.size() < 17 || static_cast<uint8_t>(in[0]) > static_cast<uint8_t>(KvResult::Type::kRaw)) {
    return false;
  }
  r->type = static_cast<KvResult::Type>(in[0]);
  r->integer = static_cast<int64_t>(DecodeFixed64(in.data() + 1));
  r->version = DecodeFixed64(in.data() + 9);
  r->bulk = std::string(in.substr(17));
  return true;
}

}  // namespace

uint64_t ScanHash(std::string_view key) {
  // FNV-1a then a splitmix64 finalizer: fixed, so cursors mean the same on
  // every member and after restarts.
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

void KeyOrderIndex::Clear() {
  buckets_.assign(16, {});
  shift_ = 60;
  size_ = 0;
}

void KeyOrderIndex::Grow() {
  std::vector<std::vector<Entry>> old = std::move(buckets_);
  buckets_.assign(old.size() * 2, {});
  --shift_;
  for (const auto& bucket : old) {
    for (const Entry& e : bucket) buckets_[BucketOf(e.hash)].push_back(e);
  }
}

void KeyOrderIndex::Insert(std::string_view key) {
  if (size_ >= buckets_.size() * 8 && shift_ > 32) Grow();
  const uint64_t hash = ScanHash(key);
  buckets_[BucketOf(hash)].push_back(Entry{hash, key});
  ++size_;
}

void KeyOrderIndex::Erase(std::string_view key) {
  const uint64_t hash = ScanHash(key);
  std::vector<Entry>& bucket = buckets_[BucketOf(hash)];
  for (Entry& e : bucket) {
    if (e.hash == hash && e.key == key) {
      e = bucket.back();
      bucket.pop_back();
      --size_;
      return;
    }
  }
  NINES_CHECK(false, "erasing a key that is not indexed");
}

bool KeyOrderIndex::Contains(std::string_view key) const {
  const uint64_t hash = ScanHash(key);
  for (const Entry& e : buckets_[BucketOf(hash)]) {
    if (e.hash == hash && e.key == key) return true;
  }
  return false;
}

size_t KvState::Hash::operator()(std::string_view s) const {
  return std::hash<std::string_view>{}(s);
}

bool ParseRedisInt64(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  size_t i = 0;
  bool negative = false;
  if (text.size() == 1 && text[0] == '0') {
    *value = 0;
    return true;
  }
  if (text[0] == '-') {
    negative = true;
    i = 1;
    if (text.size() == 1) return false;
  }
  if (text[i] < '1' || text[i] > '9') return false;
  uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  if (negative) {
    if (magnitude > uint64_t{1} << 63) return false;
    *value = static_cast<int64_t>(0 - magnitude);
  } else {
    if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *value = static_cast<int64_t>(magnitude);
  }
  return true;
}

namespace {

// Matches one pattern element at p (not '*') against c; advances *p past it.
// Returns false on no match; a malformed class is treated like Redis does
// (an unterminated '[' matches up to the end of the pattern).
bool MatchOne(std::string_view pattern, size_t* p, unsigned char c) {
  char token = pattern[*p];
  if (token == '?') {
    ++*p;
    return true;
  }
  if (token == '\\' && *p + 1 < pattern.size()) {
    bool ok = static_cast<unsigned char>(pattern[*p + 1]) == c;
    *p += 2;
    return ok;
  }
  if (token == '[') {
    size_t i = *p + 1;
    bool negate = i < pattern.size() && pattern[i] == '^';
    if (negate) ++i;
    bool matched = false;
    while (i < pattern.size() && pattern[i] != ']') {
      if (pattern[i] == '\\' && i + 1 < pattern.size()) {
        if (static_cast<unsigned char>(pattern[i + 1]) == c) matched = true;
        i += 2;
      } else if (i + 2 < pattern.size() && pattern[i + 1] == '-') {
        auto lo = static_cast<unsigned char>(pattern[i]);
        auto hi = static_cast<unsigned char>(pattern[i + 2]);
        if (lo > hi) std::swap(lo, hi);
        if (c >= lo && c <= hi) matched = true;
        i += 3;
      } else {
        if (static_cast<unsigned char>(pattern[i]) == c) matched = true;
        ++i;
      }
    }
    *p = i < pattern.size() ? i + 1 : i;  // past ']'
    return matched != negate;
  }
  ++*p;
  return static_cast<unsigned char>(token) == c;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star_p = std::string_view::npos;  // pattern position after the last '*'
  size_t star_t = 0;                       // text position that star is matched up to
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      if (p == pattern.size()) return true;
      star_p = p;
      star_t = t;
      continue;
    }
    size_t next = p;
    if (p < pattern.size() && MatchOne(pattern, &next, static_cast<unsigned char>(text[t]))) {
      p = next;
      ++t;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;  // let the last star swallow one more character
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// ---------------------------------------------------------------- indexes

KvState::Map::iterator KvState::Upsert(std::string_view key) {
  auto it = map_.find(key);
  if (it != map_.end()) return it;
  it = map_.emplace(std::string(key), KvEntry{}).first;
  scan_index_.Insert(it->first);
  memory_bytes_ += key.size();
  return it;
}

void KvState::Assign(Map::iterator it, std::string_view value, uint64_t index) {
  KvEntry& entry = it->second;
  if (entry.type != ValueType::kString) ResetValue(&entry, ValueType::kString);
  entry.value.assign(value);
  entry.version = index;
  Settle(entry);
}

void KvState::Settle(KvEntry& entry) {
  const uint64_t bytes = ValueBytes(entry);
  memory_bytes_ = memory_bytes_ - entry.charged_bytes + bytes;
  entry.charged_bytes = bytes;
}

void KvState::Erase(Map::iterator it) {
  std::string_view key = it->first;
  const KvEntry& entry = it->second;
  Tombstone tombstone;
  tombstone.removed_at = applied_index_;
  if (entry.expire_at_ms != 0 && entry.expire_at_ms <= clock_ms_) {
    tombstone.changed_at = entry.version;  // it expired: that was the change
    tombstone.expire_at_ms = entry.expire_at_ms;
  } else {
    tombstone.changed_at = applied_index_;
  }
  tombstones_.Record(key, tombstone);
  if (it->second.expire_at_ms != 0) expiry_.erase({it->second.expire_at_ms, key});
  scan_index_.Erase(key);
  memory_bytes_ -= key.size() + it->second.charged_bytes;
  map_.erase(it);
}

void KvState::SetExpiry(Map::iterator it, int64_t expire_at_ms) {
  KvEntry& entry = it->second;
  if (entry.expire_at_ms == expire_at_ms) return;
  std::string_view key = it->first;
  if (entry.expire_at_ms != 0) expiry_.erase({entry.expire_at_ms, key});
  entry.expire_at_ms = expire_at_ms;
  if (expire_at_ms != 0) expiry_.emplace(expire_at_ms, key);
}

void KvState::FlushAll() {
  if (map_.size() > KeyTombstones::kMaxEntries) {
    tombstones_.ForgetAll(applied_index_);
  } else {
    // In SCAN order, not the map's: every member records (and so evicts) alike.
    std::vector<std::string_view> keys;
    keys.reserve(map_.size());
    scan_index_.ForEachFrom(0, [&](uint64_t, std::string_view key) {
      keys.push_back(key);
      return true;
    });
    for (std::string_view key : keys) {
      const KvEntry& entry = map_.find(key)->second;
      Tombstone tombstone{applied_index_, applied_index_, 0};
      if (entry.expire_at_ms != 0 && entry.expire_at_ms <= clock_ms_) {
        tombstone.changed_at = entry.version;
        tombstone.expire_at_ms = entry.expire_at_ms;
      }
      tombstones_.Record(key, tombstone);
    }
  }
  Clear();
}

void KvState::Clear() {
  expiry_.clear();
  scan_index_.Clear();
  map_.clear();
  memory_bytes_ = 0;
}

KvEntry* KvState::FindLive(std::string_view key) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  if (it->second.expire_at_ms != 0 && it->second.expire_at_ms <= clock_ms_) {
    Erase(it);
    return nullptr;
  }
  return &it->second;
}

bool KvState::CheckIndexes() const {
  if (scan_index_.size() != map_.size()) return false;
  size_t with_expiry = 0;
  uint64_t bytes = 0;
  for (const auto& [key, entry] : map_) {
    bytes += key.size() + ValueBytes(entry);
    if (entry.charged_bytes != ValueBytes(entry) || IsEmptyCollection(entry)) return false;
    if (!scan_index_.Contains(key)) return false;
    if (entry.expire_at_ms != 0) {
      ++with_expiry;
      if (expiry_.count({entry.expire_at_ms, std::string_view(key)}) == 0) return false;
    }
  }
  return with_expiry == expiry_.size() && bytes == memory_bytes_;
}

// ---------------------------------------------------------------- apply

KvResult KvState::Apply(uint64_t index, std::string_view encoded) {
  RequestKey key;
  std::string_view command;
  if (!UnwrapDeduplicated(encoded, &key, &command)) return ApplyEncoded(index, encoded);
  if (const KvResult* earlier = AppliedBefore(index, key)) return *earlier;
  KvResult result = ApplyEncoded(index, command);
  std::string encoded_result;
  EncodeResult(result, &encoded_result);
  dedup_.Record(key, index, std::move(encoded_result));
  return result;
}

const KvResult* KvState::AppliedBefore(uint64_t index, const RequestKey& key) {
  const std::string* earlier = dedup_.Find(key);
  if (earlier == nullptr && dedup_.Evicted(key)) {
    // Applied long ago (or a first attempt so late its client has given up):
    // never apply it again; its result is gone.
    dedup_result_ = KvResult::Error(UnknownOutcomeError(
        "request id forgotten by the dedup table (retried too late); it may have been applied"));
  } else if (earlier == nullptr || !DecodeResult(*earlier, &dedup_result_)) {
    return nullptr;
  }
  NINES_CHECK(index > applied_index_, "log entries are applied once, in index order");
  applied_index_ = index;
  return &dedup_result_;
}

KvResult KvState::ApplyDeduplicated(uint64_t index, const RequestKey& key,
                                    const KvCommand& command) {
  if (const KvResult* earlier = AppliedBefore(index, key)) return *earlier;
  KvResult result = ApplyCommand(index, command);
  std::string encoded_result;
  EncodeResult(result, &encoded_result);
  dedup_.Record(key, index, std::move(encoded_result));
  return result;
}

KvResult KvState::ApplyEncoded(uint64_t index, std::string_view encoded) {
  Status status = DecodeKvCommand(encoded, &scratch_);
  if (!status.ok()) {
    NINES_CHECK(index > applied_index_, "log entries are applied once, in index order");
    applied_index_ = index;
    return KvResult::Error("ERR " + status.message());
  }
  return ApplyCommand(index, scratch_);
}

KvResult KvState::ApplySet(uint64_t index, const KvCommand& c) {
  std::string_view key = c.args[0];
  KvEntry* existing = FindLive(key);
  const bool get = (c.flags & kFlagGet) != 0;
  KvResult reply = KvResult::Ok();
  if (get && existing && existing->type != ValueType::kString) {
    return KvResult::Error(std::string(kErrWrongType));  // and nothing is set, as Redis
  }
  if (get) reply = existing ? KvResult::Bulk(existing->value) : KvResult::Nil();
  if (((c.flags & kFlagNx) && existing) || ((c.flags & kFlagXx) && !existing)) {
    return get ? reply : KvResult::Nil();
  }
  int64_t expire_at = 0;
  if (c.flags & kFlagKeepTtl) {
    expire_at = existing ? existing->expire_at_ms : 0;
  } else if (c.expire_kind == ExpireKind::kRelativeMs) {
    expire_at = SaturatingAdd(clock_ms_, c.integer);
  } else if (c.expire_kind == ExpireKind::kAbsoluteMs) {
    expire_at = c.integer;
  }
  auto it = Upsert(key);
  Assign(it, c.args[1], index);
  if (expire_at != 0 && expire_at <= clock_ms_) {
    Erase(it);  // set with an expiry already in the past: gone at once (as Redis)
  } else {
    SetExpiry(it, expire_at);
  }
  return reply;
}

KvResult KvState::ApplyIncrBy(uint64_t index, const KvCommand& c) {
  std::string_view key = c.args[0];
  KvEntry* entry = FindLive(key);
  int64_t current = 0;
  if (entry != nullptr && entry->type != ValueType::kString) {
    return KvResult::Error(std::string(kErrWrongType));
  }
  if (entry != nullptr && !ParseRedisInt64(entry->value, &current)) {
    return KvResult::Error(std::string(kErrNotInteger));
  }
  int64_t updated;
  if (__builtin_add_overflow(current, c.integer, &updated)) {
    return KvResult::Error(std::string(kErrOverflow));
  }
  Assign(Upsert(key), FormatInt(updated), index);  // keeps an existing TTL, as Redis does
  return KvResult::Integer(updated);
}

KvResult KvState::ApplyExpire(uint64_t index, const KvCommand& c) {
  std::string_view key = c.args[0];
  KvEntry* entry = FindLive(key);
  if (entry == nullptr) return KvResult::Integer(0);
  int64_t when =
      c.expire_kind == ExpireKind::kRelativeMs ? SaturatingAdd(clock_ms_, c.integer) : c.integer;
  const int64_t current = entry->expire_at_ms;  // 0: no TTL, i.e. infinite
  if ((c.flags & kFlagNx) && current != 0) return KvResult::Integer(0);
  if ((c.flags & kFlagXx) && current == 0) return KvResult::Integer(0);
  if ((c.flags & kFlagGt) && (current == 0 || when <= current)) return KvResult::Integer(0);
  if ((c.flags & kFlagLt) && current != 0 && when >= current) return KvResult::Integer(0);
  auto it = map_.find(key);
  if (when <= clock_ms_) {
    Erase(it);
  } else {
    SetExpiry(it, when);
    it->second.version = index;
  }
  return KvResult::Integer(1);
}

KvResult KvState::ApplyCommand(uint64_t index, const KvCommand& c) {
  NINES_CHECK(index > applied_index_, "log entries are applied once, in index order");
  applied_index_ = index;
  if (c.now_ms > clock_ms_) clock_ms_ = c.now_ms;
  if (c.op == KvOp::kExec) return ApplyExec(index, c);
  return ApplyOp(index, c, index);
}

bool KvState::ModifiedSince(const TxWatch& watch) const {
  auto it = map_.find(watch.key);
  if (it != map_.end()) {
    const KvEntry& e = it->second;
    if (e.version > watch.index) return true;
    // Unchanged since, but it may have expired in between.
    const bool live_then = e.expire_at_ms == 0 || e.expire_at_ms > watch.time_ms;
    const bool live_now = e.expire_at_ms == 0 || e.expire_at_ms > clock_ms_;
    return live_then != live_now;
  }
  if (const Tombstone* t = tombstones_.Find(watch.key)) {
    return t->changed_at > watch.index || (t->expire_at_ms != 0 && t->expire_at_ms > watch.time_ms);
  }
  return tombstones_.horizon() > watch.index;
}

KvResult KvState::ApplyExec(uint64_t index, const KvCommand& c) {
  std::vector<TxWatch> watches;
  if (!DecodeTxWatches(c.args[0], &watches)) {
    return KvResult::Error("ERR malformed command: bad transaction watches");
  }
  for (const TxWatch& watch : watches) {
    if (ModifiedSince(watch)) return KvResult::Raw(std::string(kExecAborted));
  }
  std::string reply = fmt::format("*{}\r\n", c.args.size() - 1);
  KvCommand sub;
  std::vector<std::string_view> args;
  for (size_t i = 1; i < c.args.size(); ++i) {
    // Each command draws its own randomness (two SPOPs pick independently).
    const uint64_t seed = index ^ (static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull);
    TxItemKind kind;
    std::string_view rest;
    if (!SplitTxItem(c.args[i], &kind, &rest)) {
      reply += "-ERR malformed transaction item\r\n";
      continue;
    }
    switch (kind) {
      case TxItemKind::kLiteral:
        reply.append(rest);
        break;
      case TxItemKind::kWrite: {
        Status status = rest.empty() ? Status::InvalidArgument("malformed command: empty")
                                     : DecodeKvCommand(rest.substr(1), &sub);
        if (status.ok() && (sub.op == KvOp::kExec || sub.op == KvOp::kPurgeExpired)) {
          status = Status::InvalidArgument("malformed command: not allowed in a transaction");
        }
        if (!status.ok()) {
          reply += fmt::format("-ERR {}\r\n", status.message());
          break;
        }
        AppendTransactionWrite(static_cast<uint8_t>(rest[0]), ApplyOp(index, sub, seed), &reply);
        break;
      }
      case TxItemKind::kRead:
        if (!DecodeTxArgs(rest, &args)) {
          reply += "-ERR malformed transaction item\r\n";
          break;
        }
        AppendTransactionRead(args, *this, seed, &reply);
        break;
      case TxItemKind::kCommand:
        reply += "-ERR malformed transaction item\r\n";
        break;
    }
  }
  return KvResult::Raw(std::move(reply));
}

KvResult KvState::ApplyOp(uint64_t index, const KvCommand& c, uint64_t seed) {
  switch (c.op) {
    case KvOp::kSet:
      return ApplySet(index, c);
    case KvOp::kDel: {
      int64_t removed = 0;
      for (std::string_view key : c.args) {
        if (FindLive(key) != nullptr) {
          Erase(map_.find(key));
          ++removed;
        }
      }
      return KvResult::Integer(removed);
    }
    case KvOp::kIncrBy:
      return ApplyIncrBy(index, c);
    case KvOp::kAppend: {
      std::string_view key = c.args[0];
      KvEntry* entry = FindLive(key);
      if (entry != nullptr && entry->type != ValueType::kString) {
        return KvResult::Error(std::string(kErrWrongType));
      }
      size_t old_size = entry ? entry->value.size() : 0;
      if (old_size + c.args[1].size() > c.number) {
        return KvResult::Error(std::string(kErrStringTooLong));
      }
      auto it = Upsert(key);
      it->second.value.append(c.args[1]);
      it->second.version = index;
      Settle(it->second);
      return KvResult::Integer(static_cast<int64_t>(it->second.value.size()));
    }
    case KvOp::kMSet: {
      for (size_t i = 0; i + 1 < c.args.size(); i += 2) {
        FindLive(c.args[i]);  // drop an expired predecessor first
        auto it = Upsert(c.args[i]);
        Assign(it, c.args[i + 1], index);
        SetExpiry(it, 0);
      }
      return KvResult::Ok();
    }
    case KvOp::kExpire:
      return ApplyExpire(index, c);
    case KvOp::kPersist: {
      KvEntry* entry = FindLive(c.args[0]);
      if (entry == nullptr || entry->expire_at_ms == 0) return KvResult::Integer(0);
      auto it = map_.find(c.args[0]);
      SetExpiry(it, 0);
      it->second.version = index;
      return KvResult::Integer(1);
    }
    case KvOp::kGetDel: {
      KvEntry* entry = FindLive(c.args[0]);
      if (entry == nullptr) return KvResult::Nil();
      if (entry->type != ValueType::kString) return KvResult::Error(std::string(kErrWrongType));
      KvResult reply = KvResult::Bulk(std::move(entry->value));
      entry->value.clear();
      Settle(*entry);
      Erase(map_.find(c.args[0]));
      return reply;
    }
    case KvOp::kFlushAll:
      FlushAll();
      return KvResult::Ok();
    case KvOp::kCasSet:
    case KvOp::kCasDel: {
      std::string_view key = c.args[0];
      KvEntry* entry = FindLive(key);
      const uint64_t current = entry ? entry->version : 0;
      if (current != c.number) {
        KvResult conflict = KvResult::Error(std::string(kCasConflict));
        conflict.version = current;
        return conflict;
      }
      KvResult reply = KvResult::Ok();
      if (c.op == KvOp::kCasDel) {
        if (entry != nullptr) Erase(map_.find(key));
        return reply;
      }
      auto it = Upsert(key);
      Assign(it, c.args[1], index);
      SetExpiry(it, 0);
      reply.version = index;
      return reply;
    }
    case KvOp::kPurgeExpired: {
      int64_t removed = 0;
      while (!expiry_.empty() && expiry_.begin()->first <= clock_ms_ &&
             static_cast<uint64_t>(removed) < c.number) {
        Erase(map_.find(expiry_.begin()->second));
        ++removed;
      }
      return KvResult::Integer(removed);
    }
    case KvOp::kCommand:
      return ApplyTyped(index, c, seed);
    case KvOp::kExec:
      break;  // never nested: ApplyCommand runs a transaction
  }
  return KvResult::Error("ERR unknown state machine op");
}

KvResult KvState::ApplyTyped(uint64_t index, const KvCommand& c, uint64_t seed) {
  ApplyFunction apply = LookupApplyFunction(c.args[0]);
  if (apply == nullptr) {
    // A name this version does not apply (never proposed by it): the same
    // error on every member of the same version.
    return KvResult::Error(fmt::format("ERR unknown replicated command '{}'", c.args[0]));
  }
  KvWriter writer(this, index, c.number, seed, static_cast<uint64_t>(c.integer));
  return apply(writer, c.args);
}

// ---------------------------------------------------------------- writer

KvWriter::KvWriter(KvState* state, uint64_t index, uint64_t max_value_bytes, uint64_t seed,
                   uint64_t max_elements)
    : state_(state),
      index_(index),
      max_value_bytes_(max_value_bytes),
      rng_(seed),
      max_elements_(max_elements) {}

KvResult KvWriter::ElementLimitError(ValueType type) {
  ++state_->element_limit_refusals_;
  const char* what = type == ValueType::kHash   ? "hash fields"
                     : type == ValueType::kList ? "list elements"
                     : type == ValueType::kSet  ? "set members"
                                                : "zset members";
  const char* key = type == ValueType::kHash   ? "max_hash_fields"
                    : type == ValueType::kList ? "max_list_elements"
                    : type == ValueType::kSet  ? "max_set_members"
                                               : "max_zset_members";
  return KvResult::Error(
      fmt::format("ERR too many {}: the limit is {} ({} in store.toml)", what, max_elements_, key));
}

int64_t KvWriter::now_ms() const {
  return state_->clock_ms_;
}

KvEntry* KvWriter::Find(std::string_view key) {
  return state_->FindLive(key);
}

KvEntry* KvWriter::FindTyped(std::string_view key, ValueType type, bool* wrong_type) {
  KvEntry* e = state_->FindLive(key);
  *wrong_type = e != nullptr && e->type != type;
  return *wrong_type ? nullptr : e;
}

KvEntry* KvWriter::Create(std::string_view key, ValueType type) {
  NINES_CHECK(state_->map_.find(key) == state_->map_.end(), "Create on an existing key");
  auto it = state_->Upsert(key);
  ResetValue(&it->second, type);
  it->second.version = index_;
  if (state_->key_listener_) state_->key_listener_(key);
  return &it->second;
}

void KvWriter::Changed(std::string_view key, KvEntry* e) {
  e->version = index_;
  state_->Settle(*e);
  if (IsEmptyCollection(*e)) state_->Erase(state_->map_.find(key));
  if (state_->key_listener_) state_->key_listener_(key);
}

void KvWriter::Erase(std::string_view key) {
  auto it = state_->map_.find(key);
  if (it != state_->map_.end()) state_->Erase(it);
}

void KvWriter::SetExpiry(std::string_view key, int64_t expire_at_ms) {
  auto it = state_->map_.find(key);
  NINES_CHECK(it != state_->map_.end(), "SetExpiry on a missing key");
  state_->SetExpiry(it, expire_at_ms);
  it->second.version = index_;
}

void KvWriter::Rename(std::string_view from, std::string_view to) {
  if (from == to) return;
  Erase(to);
  auto it = state_->map_.find(from);
  NINES_CHECK(it != state_->map_.end(), "Rename of a missing key");
  state_->tombstones_.Record(from, Tombstone{index_, index_, 0});
  const int64_t expire_at = it->second.expire_at_ms;
  state_->SetExpiry(it, 0);
  state_->scan_index_.Erase(it->first);
  state_->memory_bytes_ -= it->first.size();
  auto node = state_->map_.extract(it);
  node.key() = std::string(to);
  auto inserted = state_->map_.insert(std::move(node));
  NINES_CHECK(inserted.inserted, "Rename target was erased");
  auto moved = inserted.position;
  state_->scan_index_.Insert(moved->first);
  state_->memory_bytes_ += moved->first.size();
  state_->SetExpiry(moved, expire_at);
  moved->second.version = index_;
  if (state_->key_listener_) state_->key_listener_(to);
}

void KvWriter::EraseAll() {
  state_->FlushAll();
}

uint64_t KvWriter::Random() {
  // splitmix64: a fixed generator, so every member draws the same numbers.
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// ---------------------------------------------------------------- reads

const KvEntry* KvState::Find(std::string_view key, int64_t now_ms) const {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  const KvEntry& entry = it->second;
  if (entry.expire_at_ms != 0 && entry.expire_at_ms <= Effective(now_ms)) return nullptr;
  return &entry;
}

std::optional<std::string_view> KvState::RandomKey(uint64_t seed, int64_t now_ms) const {
  if (map_.empty()) return std::nullopt;
  const int64_t now = Effective(now_ms);
  uint64_t x = seed;
  auto next = [&x] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x >> 11;
  };
  // A random bucket, then a random key in it (as Redis's dictGetFairRandomKey
  // roughly); expired keys are skipped, a bounded number of times.
  for (int tries = 0; tries < 1000; ++tries) {
    const size_t bucket = static_cast<size_t>(next() % map_.bucket_count());
    const size_t n = map_.bucket_size(bucket);
    if (n == 0) continue;
    auto it = map_.begin(bucket);
    std::advance(it, static_cast<ptrdiff_t>(next() % n));
    if (it->second.expire_at_ms != 0 && it->second.expire_at_ms <= now) continue;
    return std::string_view(it->first);
  }
  for (const auto& [key, entry] : map_) {  // mostly expired keys: look at all of them
    if (entry.expire_at_ms == 0 || entry.expire_at_ms > now) return std::string_view(key);
  }
  return std::nullopt;
}

int64_t KvState::PttlMs(std::string_view key, int64_t now_ms) const {
  const KvEntry* entry = Find(key, now_ms);
  if (entry == nullptr) return -2;
  if (entry->expire_at_ms == 0) return -1;
  return entry->expire_at_ms - Effective(now_ms);
}

size_t KvState::LiveKeyCount(int64_t now_ms) const {
  const int64_t now = Effective(now_ms);
  size_t expired = 0;
  for (auto it = expiry_.begin(); it != expiry_.end() && it->first <= now; ++it) ++expired;
  return map_.size() - expired;
}

ScanPage KvState::Scan(uint64_t cursor, size_t count, std::string_view pattern,
                       int64_t now_ms) const {
  ScanPage page;
  if (count == 0) count = 1;  // a zero count would never advance
  const int64_t now = Effective(now_ms);
  const bool match_all = pattern.empty() || pattern == "*";
  size_t visited = 0;
  uint64_t last_hash = 0;
  page.next_cursor = 0;
  scan_index_.ForEachFrom(cursor, [&](uint64_t hash, std::string_view key) {
    // Stop only between hash groups: keys sharing a hash share a cursor.
    if (visited >= count && hash != last_hash) {
      page.next_cursor = hash;  // > last_hash >= cursor: the next page starts here
      return false;
    }
    ++visited;
    last_hash = hash;
    const KvEntry& entry = map_.find(key)->second;
    if (entry.expire_at_ms != 0 && entry.expire_at_ms <= now) return true;
    if (match_all || GlobMatch(pattern, key)) page.keys.push_back(key);
    return true;
  });
  return page;
}

std::vector<std::string_view> KvState::Keys(std::string_view pattern, int64_t now_ms,
                                            size_t limit) const {
  std::vector<std::string_view> keys;
  const int64_t now = Effective(now_ms);
  const bool match_all = pattern == "*";
  scan_index_.ForEachFrom(0, [&](uint64_t, std::string_view key) {
    if (keys.size() >= limit) return false;
    const KvEntry& entry = map_.find(key)->second;
    if (entry.expire_at_ms != 0 && entry.expire_at_ms <= now) return true;
    if (match_all || GlobMatch(pattern, key)) keys.push_back(key);
    return true;
  });
  return keys;
}

// ---------------------------------------------------------------- snapshot

std::string KvState::Serialize() const {
  std::string out;
  out.reserve(32 + memory_bytes_ + map_.size() * 24);
  PutFixed32(&out, kSnapshotMagic);
  PutFixed64(&out, applied_index_);
  PutFixed64(&out, static_cast<uint64_t>(clock_ms_));
  PutVarint64(&out, map_.size());
  scan_index_.ForEachFrom(0, [&](uint64_t, std::string_view key) {
    const KvEntry& entry = map_.find(key)->second;
    PutLengthPrefixed(&out, key);
    EncodeValue(entry, &out);
    PutFixed64(&out, static_cast<uint64_t>(entry.expire_at_ms));
    PutFixed64(&out, entry.version);
    return true;
  });
  tombstones_.Serialize(&out);
  dedup_.Serialize(&out);  // absent in "NVK1" snapshots of older versions
  return out;
}

Status KvState::Deserialize(std::string_view bytes) {
  Clear();
  dedup_.Clear();
  tombstones_.Clear();
  applied_index_ = 0;
  clock_ms_ = 0;
  auto bad = [this](std::string_view why) {
    Clear();
    tombstones_.Clear();
    applied_index_ = 0;
    clock_ms_ = 0;
    return Status::Corruption(fmt::format("state snapshot: {}", why));
  };
  Decoder decoder(bytes);
  uint32_t magic = 0;
  uint64_t applied = 0;
  uint64_t clock = 0;
  uint64_t count = 0;
  if (!decoder.GetFixed32(&magic) || (magic != kSnapshotMagic && magic != kSnapshotMagicV3 &&
                                      magic != kSnapshotMagicV2 && magic != kSnapshotMagicV1)) {
    return bad("bad magic");
  }
  if (!decoder.GetFixed64(&applied) || !decoder.GetFixed64(&clock) ||
      !decoder.GetVarint64(&count)) {
    return bad("truncated header");
  }
  if (count > decoder.remaining()) return bad("key count exceeds the data");
  map_.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key;
    uint64_t expire_at = 0;
    uint64_t version = 0;
    if (!decoder.GetLengthPrefixed(&key)) return bad(fmt::format("entry {} truncated", i));
    if (map_.find(key) != map_.end()) return bad(fmt::format("duplicate key at entry {}", i));
    auto it = Upsert(key);
    if (magic == kSnapshotMagic || magic == kSnapshotMagicV3) {
      if (!DecodeValue(&decoder, &it->second)) return bad(fmt::format("entry {}: bad value", i));
    } else {
      std::string_view string_value;  // NVK1, NVK2: strings only
      if (!decoder.GetLengthPrefixed(&string_value)) {
        return bad(fmt::format("entry {} truncated", i));
      }
      it->second.value.assign(string_value);
    }
    if (!decoder.GetFixed64(&expire_at) || !decoder.GetFixed64(&version)) {
      return bad(fmt::format("entry {} truncated", i));
    }
    if (static_cast<int64_t>(expire_at) < 0) return bad(fmt::format("entry {}: bad expiry", i));
    it->second.version = version;
    Settle(it->second);
    SetExpiry(it, static_cast<int64_t>(expire_at));
  }
  if (magic == kSnapshotMagic) {
    if (!tombstones_.Deserialize(&decoder)) return bad("bad tombstones");
  } else {
    // Older snapshots kept no tombstones: nothing is known of removals
    // before this state (a watch taken earlier counts as modified).
    tombstones_.ForgetAll(applied);
  }
  if (magic != kSnapshotMagicV1) {
    size_t used = 0;
    Status dedup = dedup_.Deserialize(bytes.substr(bytes.size() - decoder.remaining()), &used);
    if (!dedup.ok()) return bad(dedup.message());
    if (used != decoder.remaining()) return bad("trailing bytes");
  } else if (!decoder.done()) {
    return bad("trailing bytes");
  }
  applied_index_ = applied;
  clock_ms_ = static_cast<int64_t>(clock);
  return Status::Ok();
}

}  // namespace nines::store
