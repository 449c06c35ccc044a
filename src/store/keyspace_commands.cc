// The rest of the keyspace and string commands that need more than the base
// table's ops: RENAME, RENAMENX, COPY, GETEX, SETRANGE, INCRBYFLOAT, MSETNX
// (replicated as sent, KvOp::kCommand, and applied here), and the reads
// GETRANGE, RANDOMKEY, EXPIRETIME, PEXPIRETIME, OBJECT ENCODING. Checks and
// error texts follow Redis 7.0 (db.c, t_string.c, expire.c, object.c).
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "store/command_args.h"
#include "store/command_groups.h"

namespace nines::store {
namespace {

using Args = std::span<const std::string_view>;
using resp::ReplyWriter;

// ------------------------------------------------------------ applies

// RENAME / RENAMENX key newkey: the value, its TTL and type move.
KvResult RenameApply(KvWriter& w, Args args) {
  const bool nx = args[0] == "renamenx";
  if (w.Find(args[1]) == nullptr) return KvResult::Error(std::string(kErrNoSuchKey));
  if (args[1] == args[2]) return nx ? KvResult::Integer(0) : KvResult::Ok();
  if (w.Find(args[2]) != nullptr && nx) return KvResult::Integer(0);
  w.Rename(args[1], args[2]);
  return nx ? KvResult::Integer(1) : KvResult::Ok();
}

// COPY source destination [DB 0] [REPLACE]
KvResult CopyApply(KvWriter& w, Args args) {
  bool replace = false;
  for (size_t j = 3; j < args.size(); ++j) {
    if (EqualsIgnoreCase(args[j], "replace")) {
      replace = true;
    } else if (EqualsIgnoreCase(args[j], "db") && j + 1 < args.size()) {
      int64_t db = 0;
      if (!ParseRedisInt64(args[j + 1], &db) || db < std::numeric_limits<int>::min() ||
          db > std::numeric_limits<int>::max()) {
        return KvResult::Error(std::string(kErrNotInteger));
      }
      if (db != 0) return KvResult::Error("ERR DB index is out of range");  // one database
      ++j;
    } else {
      return KvResult::Error(std::string(kErrSyntax));
    }
  }
  if (args[1] == args[2]) return KvResult::Error("ERR source and destination objects are the same");
  const KvEntry* src = w.Find(args[1]);
  if (src == nullptr) return KvResult::Integer(0);
  if (w.Find(args[2]) != nullptr) {
    if (!replace) return KvResult::Integer(0);
    w.Erase(args[2]);
  }
  src = w.Find(args[1]);  // the erase may have moved nothing, but stay exact
  const int64_t expire_at = src->expire_at_ms;
  KvEntry* dst = w.Create(args[2], ValueType::kString);
  CloneValue(*w.Find(args[1]), dst);
  w.Changed(args[2], dst);
  if (expire_at != 0) w.SetExpiry(args[2], expire_at);
  return KvResult::Integer(1);
}

// GETEX key [EX s | PX ms | EXAT ts | PXAT ts-ms | PERSIST]
KvResult GetExApply(KvWriter& w, Args args) {
  enum Unit { kNone, kEx, kPx, kExAt, kPxAt } unit = kNone;
  bool persist = false;
  std::string_view expire_arg;
  for (size_t j = 2; j < args.size(); ++j) {
    std::string_view opt = args[j];
    const bool has_next = j + 1 < args.size();
    Unit u = EqualsIgnoreCase(opt, "ex")     ? kEx
             : EqualsIgnoreCase(opt, "px")   ? kPx
             : EqualsIgnoreCase(opt, "exat") ? kExAt
             : EqualsIgnoreCase(opt, "pxat") ? kPxAt
                                             : kNone;
    if (u != kNone && has_next && unit == kNone && !persist) {
      unit = u;
      expire_arg = args[++j];
    } else if (EqualsIgnoreCase(opt, "persist") && unit == kNone) {
      persist = true;
    } else {
      return KvResult::Error(std::string(kErrSyntax));
    }
  }
  const KvEntry* e = w.Find(args[1]);
  if (e == nullptr) return KvResult::Nil();
  if (e->type != ValueType::kString) return WrongTypeResult();
  int64_t ms = 0;
  if (unit != kNone) {
    const std::string invalid = "ERR invalid expire time in 'getex' command";
    if (!ParseRedisInt64(expire_arg, &ms)) return KvResult::Error(std::string(kErrNotInteger));
    const bool seconds = unit == kEx || unit == kExAt;
    if (ms <= 0 || (seconds && ms > std::numeric_limits<int64_t>::max() / 1000)) {
      return KvResult::Error(invalid);
    }
    if (seconds) ms *= 1000;
    if (unit == kEx || unit == kPx) {
      if (ms > std::numeric_limits<int64_t>::max() - w.now_ms()) return KvResult::Error(invalid);
      ms += w.now_ms();
    }
  }
  KvResult reply = KvResult::Bulk(e->value);
  if (unit != kNone && ms <= w.now_ms()) {
    w.Erase(args[1]);  // an absolute time already past: the key goes, its value is returned
  } else if (unit != kNone) {
    w.SetExpiry(args[1], ms);
  } else if (persist && e->expire_at_ms != 0) {
    w.SetExpiry(args[1], 0);
  }
  return reply;
}

// SETRANGE key offset value
KvResult SetRangeApply(KvWriter& w, Args args) {
  int64_t offset = 0;
  if (!ParseRedisInt64(args[2], &offset)) return KvResult::Error(std::string(kErrNotInteger));
  if (offset < 0) return KvResult::Error("ERR offset is out of range");
  std::string_view value = args[3];
  KvEntry* e = w.Find(args[1]);
  if (e != nullptr && e->type != ValueType::kString) return WrongTypeResult();
  if (value.empty()) return KvResult::Integer(e ? static_cast<int64_t>(e->value.size()) : 0);
  if (static_cast<uint64_t>(offset) + value.size() > w.max_value_bytes()) {
    return KvResult::Error(std::string(kErrStringTooLong));
  }
  if (e == nullptr) e = w.Create(args[1], ValueType::kString);
  const size_t end = static_cast<size_t>(offset) + value.size();
  if (e->value.size() < end) e->value.resize(end, '\0');
  e->value.replace(static_cast<size_t>(offset), value.size(), value);
  w.Changed(args[1], e);
  return KvResult::Integer(static_cast<int64_t>(e->value.size()));
}

// INCRBYFLOAT key increment: keeps the TTL; replies and stores Redis's
// human format (17 digits, trailing zeros cut).
KvResult IncrByFloatApply(KvWriter& w, Args args) {
  KvEntry* e = w.Find(args[1]);
  if (e != nullptr && e->type != ValueType::kString) return WrongTypeResult();
  long double value = 0;
  long double incr = 0;
  if ((e != nullptr && !ParseRedisLongDouble(e->value, &value)) ||
      !ParseRedisLongDouble(args[2], &incr)) {
    return KvResult::Error(std::string(kErrNotFloat));
  }
  value += incr;
  if (std::isnan(value) || std::isinf(value)) return KvResult::Error(std::string(kErrNanOrInf));
  std::string text = FormatHumanLongDouble(value);
  if (e == nullptr) e = w.Create(args[1], ValueType::kString);
  e->value = text;
  w.Changed(args[1], e);
  return KvResult::Bulk(std::move(text));
}

// MSETNX key value [key value ...]: all or nothing, only if no key exists.
KvResult MSetNxApply(KvWriter& w, Args args) {
  if (args.size() % 2 == 0) return KvResult::Error(WrongArityError(args[0]));
  for (size_t i = 1; i < args.size(); i += 2) {
    if (w.Find(args[i]) != nullptr) return KvResult::Integer(0);
  }
  for (size_t i = 1; i < args.size(); i += 2) {
    KvEntry* e = w.Find(args[i]);  // a repeated key: the last value wins
    if (e == nullptr) e = w.Create(args[i], ValueType::kString);
    e->value.assign(args[i + 1]);
    w.Changed(args[i], e);
  }
  return KvResult::Integer(1);
}

// ------------------------------------------------------------ reads

// GETRANGE key start end, as Redis 7.0 (negative indexes from the end).
void GetRangeRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  int64_t start = 0;
  int64_t end = 0;
  if (!ParseRedisInt64(call.args[2], &start) || !ParseRedisInt64(call.args[3], &end)) {
    return w.Error(kErrNotInteger);
  }
  bool done = false;
  const KvEntry* e = FindTypedForRead(call, state, call.args[1], ValueType::kString, &done);
  if (done) return;
  if (start < 0 && end < 0 && start > end) return w.Bulk("");
  const int64_t len = e ? static_cast<int64_t>(e->value.size()) : 0;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return w.Bulk("");
  w.Bulk(std::string_view(e->value).substr(static_cast<size_t>(start),
                                           static_cast<size_t>(end - start + 1)));
}

void RandomKeyRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  std::optional<std::string_view> key = state.RandomKey(ReadRandom(), call.context.now_ms);
  if (!key) return w.NullBulk();
  w.Bulk(*key);
}

// EXPIRETIME / PEXPIRETIME key: the absolute expiry; -2 missing, -1 none.
void ExpireTimeGeneric(const ReadCall& call, const KvState& state, bool ms) {
  const KvEntry* e = state.Find(call.args[1], call.context.now_ms);
  ReplyWriter w(call.out);
  if (e == nullptr) return w.Integer(-2);
  if (e->expire_at_ms == 0) return w.Integer(-1);
  w.Integer(ms ? e->expire_at_ms : (e->expire_at_ms + 500) / 1000);
}

void ExpireTimeRead(const ReadCall& call, const KvState& state) {
  ExpireTimeGeneric(call, state, false);
}
void PExpireTimeRead(const ReadCall& call, const KvState& state) {
  ExpireTimeGeneric(call, state, true);
}

void ObjectEncodingRead(const ReadCall& call, const KvState& state) {
  const KvEntry* e = state.Find(call.args[2], call.context.now_ms);
  ReplyWriter w(call.out);
  if (e == nullptr) return w.NullBulk();
  w.Bulk(ObjectEncoding(*e));
}

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadonly;
constexpr uint32_t kF = kCmdFast;
constexpr uint32_t kM = kCmdDenyOom;

const CommandSpec kObjectSubcommands[] = {
    {"object|encoding", 3, kR, nullptr, ObjectEncodingRead, {}, 2, 2, 1},
};

const CommandSpec kKeyspaceCommands[] = {
    // name, arity, flags, prepare, read, subcommands, first key, last key, step, apply
    {"copy", -3, kW | kM, ProposeAsCommand, nullptr, {}, 1, 2, 1, CopyApply},
    {"expiretime", 2, kR | kF, nullptr, ExpireTimeRead, {}, 1, 1, 1},
    {"getex", -2, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, GetExApply},
    {"getrange", 4, kR, nullptr, GetRangeRead, {}, 1, 1, 1},
    {"incrbyfloat", 3, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, IncrByFloatApply},
    {"msetnx", -3, kW | kM, ProposeAsCommand, nullptr, {}, 1, -1, 2, MSetNxApply},
    {"object", -2, 0, nullptr, nullptr, kObjectSubcommands},
    {"pexpiretime", 2, kR | kF, nullptr, PExpireTimeRead, {}, 1, 1, 1},
    {"randomkey", 1, kR, nullptr, RandomKeyRead, {}},
    {"rename", 3, kW, ProposeAsCommand, nullptr, {}, 1, 2, 1, RenameApply},
    {"renamenx", 3, kW | kF, ProposeAsCommand, nullptr, {}, 1, 2, 1, RenameApply},
    {"setrange", 4, kW | kM, ProposeAsCommand, nullptr, {}, 1, 1, 1, SetRangeApply},
};

}  // namespace

std::span<const CommandSpec> KeyspaceCommands() {
  return kKeyspaceCommands;
}

}  // namespace nines::store
