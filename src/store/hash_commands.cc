// Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HEXISTS, HLEN,
// HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HSTRLEN, HRANDFIELD, HSCAN.
// Writes are replicated as sent (KvOp::kCommand) and applied here; checks
// and error texts follow Redis 7.0's t_hash.c in the same order.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "store/command_args.h"
#include "store/command_groups.h"

namespace nines::store {
namespace {

using Args = std::span<const std::string_view>;
using resp::ReplyWriter;

// The hash at key for a write: nullptr if absent; *error set on WRONGTYPE.
HashValue* FindHash(KvWriter& w, std::string_view key, KvEntry** entry, bool* wrong) {
  *entry = w.FindTyped(key, ValueType::kHash, wrong);
  return *entry ? (*entry)->hash.get() : nullptr;
}

// The hash at key, created empty if absent; nullptr on WRONGTYPE.
KvEntry* HashForWrite(KvWriter& w, std::string_view key) {
  bool wrong = false;
  KvEntry* e = w.FindTyped(key, ValueType::kHash, &wrong);
  if (wrong) return nullptr;
  return e ? e : w.Create(key, ValueType::kHash);
}

// ------------------------------------------------------------ applies

// True if adding the fields args[first], args[first + step], ... would take
// the hash at key past the element bound.
bool HashOverLimit(KvWriter& w, std::string_view key, Args args, size_t first, size_t step) {
  bool wrong = false;
  const KvEntry* e = w.FindTyped(key, ValueType::kHash, &wrong);
  if (wrong) return false;  // WRONGTYPE comes first
  std::unordered_set<std::string_view> added;
  for (size_t i = first; i < args.size(); i += step) {
    if (e == nullptr || e->hash->Get(args[i]) == nullptr) added.insert(args[i]);
  }
  return w.OverElementLimit((e ? e->hash->size() : 0) + added.size());
}

KvResult HSetApply(KvWriter& w, Args args) {
  if (args.size() % 2 == 1) return KvResult::Error(WrongArityError(args[0]));
  if (HashOverLimit(w, args[1], args, 2, 2)) return w.ElementLimitError(ValueType::kHash);
  KvEntry* e = HashForWrite(w, args[1]);
  if (e == nullptr) return WrongTypeResult();
  int64_t created = 0;
  for (size_t i = 2; i + 1 < args.size(); i += 2) created += e->hash->Set(args[i], args[i + 1]);
  w.Changed(args[1], e);
  return args[0] == "hmset" ? KvResult::Ok() : KvResult::Integer(created);
}

KvResult HSetNxApply(KvWriter& w, Args args) {
  if (HashOverLimit(w, args[1], args.first(3), 2, 2)) return w.ElementLimitError(ValueType::kHash);
  KvEntry* e = HashForWrite(w, args[1]);
  if (e == nullptr) return WrongTypeResult();
  if (e->hash->Get(args[2]) != nullptr) return KvResult::Integer(0);  // the hash existed
  e->hash->Set(args[2], args[3]);
  w.Changed(args[1], e);
  return KvResult::Integer(1);
}

KvResult HDelApply(KvWriter& w, Args args) {
  KvEntry* e = nullptr;
  bool wrong = false;
  HashValue* h = FindHash(w, args[1], &e, &wrong);
  if (wrong) return WrongTypeResult();
  if (h == nullptr) return KvResult::Integer(0);
  int64_t removed = 0;
  for (size_t i = 2; i < args.size(); ++i) removed += h->Erase(args[i]);
  if (removed > 0) w.Changed(args[1], e);
  return KvResult::Integer(removed);
}

KvResult HIncrByApply(KvWriter& w, Args args) {
  int64_t incr = 0;
  if (!ParseRedisInt64(args[3], &incr)) return KvResult::Error(std::string(kErrNotInteger));
  // A new field grows the hash: bounded like HSET (before the key is created).
  if (HashOverLimit(w, args[1], args.first(3), 2, 2)) return w.ElementLimitError(ValueType::kHash);
  KvEntry* e = HashForWrite(w, args[1]);
  if (e == nullptr) return WrongTypeResult();
  int64_t value = 0;
  if (const std::string* old = e->hash->Get(args[2])) {
    if (!ParseRedisInt64(*old, &value)) {
      return KvResult::Error("ERR hash value is not an integer");  // the hash existed
    }
  }
  if ((incr < 0 && value < 0 && incr < std::numeric_limits<int64_t>::min() - value) ||
      (incr > 0 && value > 0 && incr > std::numeric_limits<int64_t>::max() - value)) {
    return KvResult::Error(std::string(kErrOverflow));
  }
  value += incr;
  e->hash->Set(args[2], fmt::format("{}", value));
  w.Changed(args[1], e);
  return KvResult::Integer(value);
}

KvResult HIncrByFloatApply(KvWriter& w, Args args) {
  long double incr = 0;
  if (!ParseRedisLongDouble(args[3], &incr)) return KvResult::Error(std::string(kErrNotFloat));
  if (std::isnan(incr) || std::isinf(incr)) {
    return KvResult::Error("ERR value is NaN or Infinity");
  }
  if (HashOverLimit(w, args[1], args.first(3), 2, 2)) return w.ElementLimitError(ValueType::kHash);
  KvEntry* e = HashForWrite(w, args[1]);
  if (e == nullptr) return WrongTypeResult();
  long double value = 0;
  if (const std::string* old = e->hash->Get(args[2])) {
    if (!ParseRedisLongDouble(*old, &value)) {
      return KvResult::Error("ERR hash value is not a float");
    }
  }
  value += incr;
  if (std::isnan(value) || std::isinf(value)) {  // only from an existing field: nothing to undo
    return KvResult::Error(std::string(kErrNanOrInf));
  }
  std::string text = FormatHumanLongDouble(value);
  e->hash->Set(args[2], text);
  w.Changed(args[1], e);
  return KvResult::Bulk(std::move(text));
}

// ------------------------------------------------------------ reads

const HashValue* ReadHash(const ReadCall& call, const KvState& state, bool* done) {
  const KvEntry* e = FindTypedForRead(call, state, call.args[1], ValueType::kHash, done);
  return e ? e->hash.get() : nullptr;
}

void HGetRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const HashValue* h = ReadHash(call, state, &done);
  if (done) return;
  const std::string* v = h ? h->Get(call.args[2]) : nullptr;
  ReplyWriter w(call.out);
  if (v == nullptr) {
    w.NullBulk();
  } else {
    w.Bulk(*v);
  }
}

void HMGetRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const HashValue* h = ReadHash(call, state, &done);
  if (done) return;
  ReplyWriter w(call.out);
  w.ArrayHeader(call.args.size() - 2);
  for (size_t i = 2; i < call.args.size(); ++i) {
    const std::string* v = h ? h->Get(call.args[i]) : nullptr;
    if (v == nullptr) {
      w.NullBulk();
    } else {
      w.Bulk(*v);
    }
  }
}

void HExistsRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const HashValue* h = ReadHash(call, state, &done);
  if (done) return;
  ReplyWriter(call.out).Integer(h && h->Get(call.args[2]) ? 1 : 0);
}

void HLenRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const HashValue* h = ReadHash(call, state, &done);
  if (done) return;
  ReplyWriter(call.out).Integer(h ? static_cast<int64_t>(h->size()) : 0);
}

void HStrLenRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const HashValue* h = ReadHash(call, state, &done);
  if (done) return;
  const std::string* v = h ? h->Get(call.args[2]) : nullptr;
  ReplyWriter(call.out).Integer(v ? static_cast<int64_t>(v->size()) : 0);
}

// HKEYS, HVALS, HGETALL: in the hash's own order.
void HashDump(const ReadCall& call, const KvState& state, bool fields, bool values) {
  bool done = false;
  const HashValue* h = ReadHash(call, state, &done);
  if (done) return;
  ReplyWriter w(call.out);
  const size_t n = h ? h->size() : 0;
  w.ArrayHeader(n * ((fields ? 1 : 0) + (values ? 1 : 0)));
  for (size_t i = 0; i < n; ++i) {
    if (fields) w.Bulk(h->at(i).first);
    if (values) w.Bulk(h->at(i).second);
  }
}

void HKeysRead(const ReadCall& call, const KvState& state) {
  HashDump(call, state, true, false);
}
void HValsRead(const ReadCall& call, const KvState& state) {
  HashDump(call, state, false, true);
}
void HGetAllRead(const ReadCall& call, const KvState& state) {
  HashDump(call, state, true, true);
}

// HRANDFIELD key [count [WITHVALUES]], as Redis 7.0's hrandfieldCommand.
void HRandFieldRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  int64_t count = 0;
  bool with_values = false;
  const bool has_count = call.args.size() >= 3;
  if (has_count) {
    if (Status s = ParseRandomCount(call.args[2], &count); !s.ok()) return w.Error(s.message());
    if (call.args.size() > 4 ||
        (call.args.size() == 4 && !EqualsIgnoreCase(call.args[3], "withvalues"))) {
      return w.Error(kErrSyntax);
    }
    with_values = call.args.size() == 4;
    constexpr int64_t kHalf = std::numeric_limits<int64_t>::max() / 2;
    if (with_values && (count < -kHalf || count > kHalf)) {
      return w.Error("ERR value is out of range");
    }
  }
  bool done = false;
  const HashValue* h = ReadHash(call, state, &done);
  if (done) return;
  if (!has_count) {
    if (h == nullptr) return w.NullBulk();
    return w.Bulk(h->at(ReadRandom() % h->size()).first);
  }
  auto emit = [&](size_t i) {
    w.Bulk(h->at(i).first);
    if (with_values) w.Bulk(h->at(i).second);
  };
  const size_t per = with_values ? 2 : 1;
  if (h == nullptr || count == 0) return w.ArrayHeader(0);
  if (count < 0) {  // repeats allowed
    const uint64_t n = static_cast<uint64_t>(-count);
    if (n > kMaxRandomReply) return w.Error(kErrRandomTooMany);
    w.ArrayHeader(static_cast<size_t>(n) * per);
    for (uint64_t i = 0; i < n; ++i) emit(ReadRandom() % h->size());
    return;
  }
  const size_t n = std::min(static_cast<size_t>(count), h->size());
  std::vector<size_t> picks(h->size());
  for (size_t i = 0; i < picks.size(); ++i) picks[i] = i;
  for (size_t i = 0; i < n; ++i) std::swap(picks[i], picks[i + ReadRandom() % (h->size() - i)]);
  w.ArrayHeader(n * per);
  for (size_t i = 0; i < n; ++i) emit(picks[i]);
}

// HSCAN key cursor [MATCH p] [COUNT n]: a compact hash (Redis's listpack)
// comes whole in one page, as Redis does; a larger one page by page in the
// hash order of its fields.
void HScanRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  ScanOptions options;
  if (!ParseScanCursor(call.args[2], &options.cursor)) return w.Error(kErrInvalidCursor);
  if (Status s = ParseScanOptions(call.args, 3, &options); !s.ok()) return w.Error(s.message());
  bool done = false;
  const KvEntry* e = FindTypedForRead(call, state, call.args[1], ValueType::kHash, &done);
  if (done) return;
  std::vector<size_t> page;
  uint64_t next = 0;
  if (e != nullptr) {
    const HashValue& h = *e->hash;
    if (ObjectEncoding(*e) == "listpack") {
      for (size_t i = 0; i < h.size(); ++i) page.push_back(i);
    } else {
      page = ScanCollection(
          h.size(), options, [&h](size_t i) -> std::string_view { return h.at(i).first; }, &next);
    }
    const bool all = options.pattern == "*";
    std::erase_if(page,
                  [&](size_t i) { return !all && !GlobMatch(options.pattern, h.at(i).first); });
  }
  w.ArrayHeader(2);
  w.Bulk(fmt::format("{}", next));
  w.ArrayHeader(page.size() * 2);
  for (size_t i : page) {
    w.Bulk(e->hash->at(i).first);
    w.Bulk(e->hash->at(i).second);
  }
}

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadonly;
constexpr uint32_t kF = kCmdFast;
constexpr uint32_t kM = kCmdDenyOom;

const CommandSpec kHashCommands[] = {
    // name, arity, flags, prepare, read, subcommands, first key, last key, step, apply
    {"hdel", -3, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, HDelApply},
    {"hexists", 3, kR | kF, nullptr, HExistsRead, {}, 1, 1, 1},
    {"hget", 3, kR | kF, nullptr, HGetRead, {}, 1, 1, 1},
    {"hgetall", 2, kR, nullptr, HGetAllRead, {}, 1, 1, 1},
    {"hincrby", 4, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, HIncrByApply},
    {"hincrbyfloat", 4, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, HIncrByFloatApply},
    {"hkeys", 2, kR, nullptr, HKeysRead, {}, 1, 1, 1},
    {"hlen", 2, kR | kF, nullptr, HLenRead, {}, 1, 1, 1},
    {"hmget", -3, kR | kF, nullptr, HMGetRead, {}, 1, 1, 1},
    {"hmset", -4, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, HSetApply},
    {"hrandfield", -2, kR, nullptr, HRandFieldRead, {}, 1, 1, 1},
    {"hscan", -3, kR, nullptr, HScanRead, {}, 1, 1, 1},
    {"hset", -4, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, HSetApply},
    {"hsetnx", 4, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, HSetNxApply},
    {"hstrlen", 3, kR | kF, nullptr, HStrLenRead, {}, 1, 1, 1},
    {"hvals", 2, kR, nullptr, HValsRead, {}, 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> HashCommands() {
  return kHashCommands;
}

}  // namespace nines::store
