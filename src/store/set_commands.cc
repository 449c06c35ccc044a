// Set commands: SADD, SREM, SISMEMBER, SMISMEMBER, SMEMBERS, SCARD, SPOP,
// SRANDMEMBER, SMOVE, SINTER, SUNION, SDIFF and their STORE forms,
// SINTERCARD, SSCAN. Writes are replicated as sent (KvOp::kCommand) and
// applied here; checks and error texts follow Redis 7.0's t_set.c in the same
// order. SPOP picks with KvWriter::Random (seeded by the log index), so every
// member pops the same members.
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

KvEntry* SetForWrite(KvWriter& w, std::string_view key) {
  bool wrong = false;
  KvEntry* e = w.FindTyped(key, ValueType::kSet, &wrong);
  if (wrong) return nullptr;
  return e ? e : w.Create(key, ValueType::kSet);
}

// ------------------------------------------------------------ algebra

enum class SetOp { kUnion, kInter, kDiff };

// The sets named by keys (nullptr for a missing key), or false on WRONGTYPE.
// Every key is type-checked, as Redis does, even after a missing one.
template <typename Lookup>
bool CollectSets(std::span<const std::string_view> keys, Lookup lookup,
                 std::vector<const SetValue*>* sets) {
  for (std::string_view key : keys) {
    bool wrong = false;
    const KvEntry* e = lookup(key, &wrong);
    if (wrong) return false;
    sets->push_back(e ? e->set.get() : nullptr);
  }
  return true;
}

// The members of op over sets, in the first (smallest, for INTER) set's
// order. limit: stop after that many (0: no limit; SINTERCARD).
std::vector<std::string_view> Combine(SetOp op, std::vector<const SetValue*> sets,
                                      size_t limit = 0) {
  std::vector<std::string_view> out;
  if (sets.empty()) return out;
  if (op == SetOp::kInter) {
    for (const SetValue* s : sets) {
      if (s == nullptr) return out;  // a missing key is an empty set
    }
    std::sort(sets.begin(), sets.end(),
              [](const SetValue* a, const SetValue* b) { return a->size() < b->size(); });
    for (size_t i = 0; i < sets[0]->size(); ++i) {
      std::string_view m = sets[0]->at(i);
      bool all = true;
      for (size_t j = 1; j < sets.size() && all; ++j) all = sets[j]->Contains(m);
      if (!all) continue;
      out.push_back(m);
      if (limit != 0 && out.size() >= limit) break;
    }
    return out;
  }
  if (op == SetOp::kDiff) {
    if (sets[0] == nullptr) return out;
    for (size_t i = 0; i < sets[0]->size(); ++i) {
      std::string_view m = sets[0]->at(i);
      bool elsewhere = false;
      for (size_t j = 1; j < sets.size() && !elsewhere; ++j) {
        elsewhere = sets[j] != nullptr && sets[j]->Contains(m);
      }
      if (!elsewhere) out.push_back(m);
    }
    return out;
  }
  SetValue seen;  // union: first occurrence order
  for (const SetValue* s : sets) {
    if (s == nullptr) continue;
    for (size_t i = 0; i < s->size(); ++i) {
      if (seen.Add(s->at(i))) out.push_back(s->at(i));
    }
  }
  return out;
}

// ------------------------------------------------------------ applies

KvResult SAddApply(KvWriter& w, Args args) {
  bool wrong = false;
  if (const KvEntry* found = w.FindTyped(args[1], ValueType::kSet, &wrong); !wrong) {
    std::unordered_set<std::string_view> added;
    for (size_t i = 2; i < args.size(); ++i) {
      if (!(found && found->set->Contains(args[i]))) added.insert(args[i]);
    }
    if (w.OverElementLimit((found ? found->set->size() : 0) + added.size())) {
      return w.ElementLimitError(ValueType::kSet);
    }
  }
  KvEntry* e = SetForWrite(w, args[1]);
  if (e == nullptr) return WrongTypeResult();
  int64_t added = 0;
  for (size_t i = 2; i < args.size(); ++i) added += e->set->Add(args[i]);
  if (added > 0) w.Changed(args[1], e);
  return KvResult::Integer(added);
}

KvResult SRemApply(KvWriter& w, Args args) {
  bool wrong = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kSet, &wrong);
  if (wrong) return WrongTypeResult();
  if (e == nullptr) return KvResult::Integer(0);
  int64_t removed = 0;
  for (size_t i = 2; i < args.size(); ++i) removed += e->set->Erase(args[i]);
  if (removed > 0) w.Changed(args[1], e);
  return KvResult::Integer(removed);
}

// SPOP key [count]
KvResult SPopApply(KvWriter& w, Args args) {
  if (args.size() > 3) return KvResult::Error(std::string(kErrSyntax));
  int64_t count = -1;
  if (args.size() == 3) {
    // Redis gives the same text for a non-number (getPositiveLongFromObjectOrReply).
    if (!ParseRedisInt64(args[2], &count) || count < 0) {
      return KvResult::Error("ERR value is out of range, must be positive");
    }
  }
  bool wrong = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kSet, &wrong);
  if (wrong) return WrongTypeResult();
  RawReply reply;
  if (count < 0) {  // no count: one member or nil
    if (e == nullptr) return KvResult::Nil();
    std::string member = e->set->at(w.Random() % e->set->size());
    e->set->Erase(member);
    w.Changed(args[1], e);
    return KvResult::Bulk(std::move(member));
  }
  if (e == nullptr || count == 0) {
    reply.w().ArrayHeader(0);
    return reply.Take();
  }
  const size_t n = std::min(static_cast<size_t>(count), e->set->size());
  reply.w().ArrayHeader(n);
  for (size_t i = 0; i < n; ++i) {
    std::string member = e->set->at(w.Random() % e->set->size());
    e->set->Erase(member);
    reply.w().Bulk(member);
  }
  w.Changed(args[1], e);  // removes the key once empty
  return reply.Take();
}

KvResult SMoveApply(KvWriter& w, Args args) {
  bool wrong_src = false;
  bool wrong_dst = false;
  KvEntry* src = w.FindTyped(args[1], ValueType::kSet, &wrong_src);
  KvEntry* dst = w.FindTyped(args[2], ValueType::kSet, &wrong_dst);
  if (src == nullptr && !wrong_src) return KvResult::Integer(0);
  if (wrong_src || wrong_dst) return WrongTypeResult();
  if (args[1] == args[2]) return KvResult::Integer(src->set->Contains(args[3]) ? 1 : 0);
  if (dst != nullptr && !dst->set->Contains(args[3]) && w.OverElementLimit(dst->set->size() + 1)) {
    return w.ElementLimitError(ValueType::kSet);
  }
  if (!src->set->Erase(args[3])) return KvResult::Integer(0);
  w.Changed(args[1], src);
  if (dst == nullptr) dst = w.Create(args[2], ValueType::kSet);
  dst->set->Add(args[3]);
  w.Changed(args[2], dst);
  return KvResult::Integer(1);
}

// SINTERSTORE / SUNIONSTORE / SDIFFSTORE dst key...
KvResult StoreResult(KvWriter& w, Args args, SetOp op) {
  std::vector<const SetValue*> sets;
  auto lookup = [&w](std::string_view key, bool* wrong) {
    return w.FindTyped(key, ValueType::kSet, wrong);
  };
  if (!CollectSets(args.subspan(2), lookup, &sets)) return WrongTypeResult();
  std::vector<std::string_view> members = Combine(op, sets);
  if (w.OverElementLimit(members.size())) return w.ElementLimitError(ValueType::kSet);
  std::vector<std::string> copies(members.begin(), members.end());  // dst may be a source
  w.Erase(args[1]);
  if (copies.empty()) return KvResult::Integer(0);
  KvEntry* e = w.Create(args[1], ValueType::kSet);
  for (const std::string& m : copies) e->set->Add(m);
  w.Changed(args[1], e);
  return KvResult::Integer(static_cast<int64_t>(copies.size()));
}

KvResult SInterStoreApply(KvWriter& w, Args args) {
  return StoreResult(w, args, SetOp::kInter);
}
KvResult SUnionStoreApply(KvWriter& w, Args args) {
  return StoreResult(w, args, SetOp::kUnion);
}
KvResult SDiffStoreApply(KvWriter& w, Args args) {
  return StoreResult(w, args, SetOp::kDiff);
}

// ------------------------------------------------------------ reads

const SetValue* ReadSet(const ReadCall& call, const KvState& state, bool* done) {
  const KvEntry* e = FindTypedForRead(call, state, call.args[1], ValueType::kSet, done);
  return e ? e->set.get() : nullptr;
}

void SIsMemberRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const SetValue* s = ReadSet(call, state, &done);
  if (done) return;
  ReplyWriter(call.out).Integer(s && s->Contains(call.args[2]) ? 1 : 0);
}

void SMIsMemberRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const SetValue* s = ReadSet(call, state, &done);
  if (done) return;
  ReplyWriter w(call.out);
  w.ArrayHeader(call.args.size() - 2);
  for (size_t i = 2; i < call.args.size(); ++i) w.Integer(s && s->Contains(call.args[i]) ? 1 : 0);
}

void SCardRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const SetValue* s = ReadSet(call, state, &done);
  if (done) return;
  ReplyWriter(call.out).Integer(s ? static_cast<int64_t>(s->size()) : 0);
}

void SMembersRead(const ReadCall& call, const KvState& state) {
  bool done = false;
  const SetValue* s = ReadSet(call, state, &done);
  if (done) return;
  ReplyWriter w(call.out);
  w.ArrayHeader(s ? s->size() : 0);
  for (size_t i = 0; s && i < s->size(); ++i) w.Bulk(s->at(i));
}

// SRANDMEMBER key [count], as Redis 7.0's srandmemberCommand.
void SRandMemberRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  if (call.args.size() > 3) return w.Error(kErrSyntax);
  int64_t count = 0;
  const bool has_count = call.args.size() == 3;
  if (has_count) {
    if (Status s = ParseRandomCount(call.args[2], &count); !s.ok()) return w.Error(s.message());
  }
  bool done = false;
  const SetValue* s = ReadSet(call, state, &done);
  if (done) return;
  if (!has_count) {
    if (s == nullptr) return w.NullBulk();
    return w.Bulk(s->at(ReadRandom() % s->size()));
  }
  if (s == nullptr || count == 0) return w.ArrayHeader(0);
  if (count < 0) {
    const uint64_t n = static_cast<uint64_t>(-count);
    if (n > kMaxRandomReply) return w.Error(kErrRandomTooMany);
    w.ArrayHeader(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) w.Bulk(s->at(ReadRandom() % s->size()));
    return;
  }
  const size_t n = std::min(static_cast<size_t>(count), s->size());
  std::vector<size_t> picks(s->size());
  for (size_t i = 0; i < picks.size(); ++i) picks[i] = i;
  for (size_t i = 0; i < n; ++i) std::swap(picks[i], picks[i + ReadRandom() % (s->size() - i)]);
  w.ArrayHeader(n);
  for (size_t i = 0; i < n; ++i) w.Bulk(s->at(picks[i]));
}

void AlgebraRead(const ReadCall& call, const KvState& state, SetOp op) {
  ReplyWriter w(call.out);
  std::vector<const SetValue*> sets;
  auto lookup = [&](std::string_view key, bool* wrong) {
    const KvEntry* e = state.Find(key, call.context.now_ms);
    *wrong = e != nullptr && e->type != ValueType::kSet;
    return *wrong ? nullptr : e;
  };
  if (!CollectSets(call.args.subspan(1), lookup, &sets)) return w.Error(kErrWrongType);
  std::vector<std::string_view> members = Combine(op, sets);
  w.ArrayHeader(members.size());
  for (std::string_view m : members) w.Bulk(m);
}

void SInterRead(const ReadCall& call, const KvState& state) {
  AlgebraRead(call, state, SetOp::kInter);
}
void SUnionRead(const ReadCall& call, const KvState& state) {
  AlgebraRead(call, state, SetOp::kUnion);
}
void SDiffRead(const ReadCall& call, const KvState& state) {
  AlgebraRead(call, state, SetOp::kDiff);
}

// SINTERCARD numkeys key [key ...] [LIMIT limit]
void SInterCardRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  // Redis gives its own text for a bad number too (getRangeLongFromObjectOrReply).
  int64_t numkeys = 0;
  if (!ParseRedisInt64(call.args[1], &numkeys) || numkeys < 1) {
    return w.Error("ERR numkeys should be greater than 0");
  }
  if (static_cast<uint64_t>(numkeys) > call.args.size() - 2) {
    return w.Error("ERR Number of keys can't be greater than number of args");
  }
  int64_t limit = 0;
  for (size_t j = 2 + static_cast<size_t>(numkeys); j < call.args.size(); j += 2) {
    if (EqualsIgnoreCase(call.args[j], "limit") && j + 1 < call.args.size()) {
      if (!ParseRedisInt64(call.args[j + 1], &limit) || limit < 0) {
        return w.Error("ERR LIMIT can't be negative");
      }
    } else {
      return w.Error(kErrSyntax);
    }
  }
  std::vector<const SetValue*> sets;
  auto lookup = [&](std::string_view key, bool* wrong) {
    const KvEntry* e = state.Find(key, call.context.now_ms);
    *wrong = e != nullptr && e->type != ValueType::kSet;
    return *wrong ? nullptr : e;
  };
  if (!CollectSets(call.args.subspan(2, static_cast<size_t>(numkeys)), lookup, &sets)) {
    return w.Error(kErrWrongType);
  }
  w.Integer(static_cast<int64_t>(Combine(SetOp::kInter, sets, static_cast<size_t>(limit)).size()));
}

// SSCAN key cursor [MATCH p] [COUNT n]: a compact set (Redis's intset) comes
// whole in one page, as Redis does; a larger one page by page in the hash
// order of its members.
void SScanRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  ScanOptions options;
  if (!ParseScanCursor(call.args[2], &options.cursor)) return w.Error(kErrInvalidCursor);
  if (Status s = ParseScanOptions(call.args, 3, &options); !s.ok()) return w.Error(s.message());
  bool done = false;
  const KvEntry* e = FindTypedForRead(call, state, call.args[1], ValueType::kSet, &done);
  if (done) return;
  std::vector<size_t> page;
  uint64_t next = 0;
  if (e != nullptr) {
    const SetValue& s = *e->set;
    if (ObjectEncoding(*e) == "intset") {
      for (size_t i = 0; i < s.size(); ++i) page.push_back(i);
    } else {
      page = ScanCollection(
          s.size(), options, [&s](size_t i) -> std::string_view { return s.at(i); }, &next);
    }
    const bool all = options.pattern == "*";
    std::erase_if(page, [&](size_t i) { return !all && !GlobMatch(options.pattern, s.at(i)); });
  }
  w.ArrayHeader(2);
  w.Bulk(fmt::format("{}", next));
  w.ArrayHeader(page.size());
  for (size_t i : page) w.Bulk(e->set->at(i));
}

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadonly;
constexpr uint32_t kF = kCmdFast;
constexpr uint32_t kM = kCmdDenyOom;

const CommandSpec kSetCommands[] = {
    // name, arity, flags, prepare, read, subcommands, first key, last key, step, apply
    {"sadd", -3, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, SAddApply},
    {"scard", 2, kR | kF, nullptr, SCardRead, {}, 1, 1, 1},
    {"sdiff", -2, kR, nullptr, SDiffRead, {}, 1, -1, 1},
    {"sdiffstore", -3, kW | kM, ProposeAsCommand, nullptr, {}, 1, -1, 1, SDiffStoreApply},
    {"sinter", -2, kR, nullptr, SInterRead, {}, 1, -1, 1},
    {"sintercard", -3, kR, nullptr, SInterCardRead, {}},
    {"sinterstore", -3, kW | kM, ProposeAsCommand, nullptr, {}, 1, -1, 1, SInterStoreApply},
    {"sismember", 3, kR | kF, nullptr, SIsMemberRead, {}, 1, 1, 1},
    {"smembers", 2, kR, nullptr, SMembersRead, {}, 1, 1, 1},
    {"smismember", -3, kR | kF, nullptr, SMIsMemberRead, {}, 1, 1, 1},
    {"smove", 4, kW | kF, ProposeAsCommand, nullptr, {}, 1, 2, 1, SMoveApply},
    {"spop", -2, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, SPopApply},
    {"srandmember", -2, kR, nullptr, SRandMemberRead, {}, 1, 1, 1},
    {"srem", -3, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, SRemApply},
    {"sscan", -3, kR, nullptr, SScanRead, {}, 1, 1, 1},
    {"sunion", -2, kR, nullptr, SUnionRead, {}, 1, -1, 1},
    {"sunionstore", -3, kW | kM, ProposeAsCommand, nullptr, {}, 1, -1, 1, SUnionStoreApply},
};

}  // namespace

std::span<const CommandSpec> SetCommands() {
  return kSetCommands;
}

}  // namespace nines::store
