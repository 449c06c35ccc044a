// List commands: the order of checks follows Redis 7.0's t_list.c (argument
// parsing, then the key lookup, then the type), so errors match byte for byte.
#include "store/list_commands.h"

#include <limits>
#include <string>

#include "store/command_args.h"
#include "store/command_groups.h"
#include "store/resp_writer.h"
#include "store/string_list.h"

namespace nines::store {
namespace {

using resp::ReplyWriter;

constexpr std::string_view kErrIndexOutOfRange = "ERR index out of range";
constexpr std::string_view kErrMustBePositive = "ERR value is out of range, must be positive";

KvResult WrongType() {
  return KvResult::Error(std::string(kErrWrongType));
}

// Redis's getPositiveLongFromObjectOrReply: an integer >= 0, else `error`
// (also for text that is no integer at all).
bool ParseNonNegative(std::string_view text, int64_t* value) {
  return ParseRedisInt64(text, value) && *value >= 0;
}

// LEFT / RIGHT; false for anything else.
bool ParseEnd(std::string_view text, bool* left) {
  if (EqualsIgnoreCase(text, "left")) {
    *left = true;
  } else if (EqualsIgnoreCase(text, "right")) {
    *left = false;
  } else {
    return false;
  }
  return true;
}

// The live list under key for a read: null if absent; *wrong_type if the key
// holds something else.
const StringList* FindList(const ReadCall& call, const KvState& state, bool* wrong_type) {
  *wrong_type = false;
  const KvEntry* e = state.Find(call.args[1], call.context.now_ms);
  if (e == nullptr) return nullptr;
  if (e->type != ValueType::kList) {
    *wrong_type = true;
    return nullptr;
  }
  return e->list.get();
}

}  // namespace

// ------------------------------------------------------------ writes

KvResult ListPushApply(KvWriter& w, std::span<const std::string_view> args) {
  const bool left = args[0][0] == 'l';
  const bool only_existing = args[0].back() == 'x';
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kList, &wrong_type);
  if (wrong_type) return WrongType();
  if (e == nullptr && only_existing) return KvResult::Integer(0);
  if (w.OverElementLimit((e ? e->list->size() : 0) + (args.size() - 2))) {
    return w.ElementLimitError(ValueType::kList);
  }
  if (e == nullptr) e = w.Create(args[1], ValueType::kList);
  for (size_t i = 2; i < args.size(); ++i) {
    if (left) {
      e->list->PushFront(args[i]);
    } else {
      e->list->PushBack(args[i]);
    }
  }
  const auto length = static_cast<int64_t>(e->list->size());
  w.Changed(args[1], e);
  return KvResult::Integer(length);
}

KvResult ListPopApply(KvWriter& w, std::span<const std::string_view> args) {
  const bool left = args[0][0] == 'l';
  if (args.size() > 3) return KvResult::Error(WrongArityError(args[0]));
  const bool has_count = args.size() == 3;
  int64_t count = 0;
  if (has_count && !ParseNonNegative(args[2], &count)) {
    return KvResult::Error(std::string(kErrMustBePositive));
  }
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kList, &wrong_type);
  if (wrong_type) return WrongType();
  std::string out;
  ReplyWriter reply(&out);
  if (e == nullptr) {
    if (has_count) {
      reply.NullArray();
      return KvResult::Raw(std::move(out));
    }
    return KvResult::Nil();
  }
  if (has_count && count == 0) {
    reply.ArrayHeader(0);
    return KvResult::Raw(std::move(out));
  }
  StringList& list = *e->list;
  if (!has_count) {
    KvResult popped = KvResult::Bulk(left ? list.PopFront() : list.PopBack());
    w.Changed(args[1], e);
    return popped;
  }
  const uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(count), list.size());
  reply.ArrayHeader(n);
  for (uint64_t i = 0; i < n; ++i) reply.Bulk(left ? list.PopFront() : list.PopBack());
  w.Changed(args[1], e);
  return KvResult::Raw(std::move(out));
}

KvResult LSetApply(KvWriter& w, std::span<const std::string_view> args) {
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kList, &wrong_type);
  if (wrong_type) return WrongType();
  if (e == nullptr) return KvResult::Error(std::string(kErrNoSuchKey));
  int64_t index = 0;
  if (!ParseRedisInt64(args[2], &index)) return KvResult::Error(std::string(kErrNotInteger));
  if (!e->list->Set(index, args[3])) return KvResult::Error(std::string(kErrIndexOutOfRange));
  w.Changed(args[1], e);
  return KvResult::Ok();
}

KvResult LInsertApply(KvWriter& w, std::span<const std::string_view> args) {
  bool before = false;
  if (EqualsIgnoreCase(args[2], "after")) {
    before = false;
  } else if (EqualsIgnoreCase(args[2], "before")) {
    before = true;
  } else {
    return KvResult::Error(std::string(kErrSyntax));
  }
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kList, &wrong_type);
  if (wrong_type) return WrongType();
  if (e == nullptr) return KvResult::Integer(0);
  if (w.OverElementLimit(e->list->size() + 1)) return w.ElementLimitError(ValueType::kList);
  if (!e->list->Insert(before, args[3], args[4])) return KvResult::Integer(-1);
  const auto length = static_cast<int64_t>(e->list->size());
  w.Changed(args[1], e);
  return KvResult::Integer(length);
}

KvResult LRemApply(KvWriter& w, std::span<const std::string_view> args) {
  int64_t count = 0;
  if (!ParseRedisInt64(args[2], &count)) return KvResult::Error(std::string(kErrNotInteger));
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kList, &wrong_type);
  if (wrong_type) return WrongType();
  if (e == nullptr) return KvResult::Integer(0);
  const uint64_t removed = e->list->Remove(count, args[3]);
  if (removed > 0) w.Changed(args[1], e);
  return KvResult::Integer(static_cast<int64_t>(removed));
}

KvResult LTrimApply(KvWriter& w, std::span<const std::string_view> args) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseRedisInt64(args[2], &start) || !ParseRedisInt64(args[3], &stop)) {
    return KvResult::Error(std::string(kErrNotInteger));
  }
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kList, &wrong_type);
  if (wrong_type) return WrongType();
  if (e == nullptr) return KvResult::Ok();
  e->list->Trim(start, stop);
  w.Changed(args[1], e);
  return KvResult::Ok();
}

KvResult LMoveApply(KvWriter& w, std::span<const std::string_view> args) {
  bool from_left = false;  // RPOPLPUSH: from the right, to the left
  bool to_left = true;
  if (args[0] == "lmove" && (!ParseEnd(args[3], &from_left) || !ParseEnd(args[4], &to_left))) {
    return KvResult::Error(std::string(kErrSyntax));
  }
  std::string_view source_key = args[1];
  std::string_view destination_key = args[2];
  bool wrong_type = false;
  KvEntry* source = w.FindTyped(source_key, ValueType::kList, &wrong_type);
  if (wrong_type) return WrongType();
  if (source == nullptr) return KvResult::Nil();
  KvEntry* destination = w.FindTyped(destination_key, ValueType::kList, &wrong_type);
  if (wrong_type) return WrongType();
  if (source != destination && destination != nullptr &&
      w.OverElementLimit(destination->list->size() + 1)) {
    return w.ElementLimitError(ValueType::kList);
  }
  std::string value = from_left ? source->list->PopFront() : source->list->PopBack();
  if (destination == nullptr) destination = w.Create(destination_key, ValueType::kList);
  if (to_left) {
    destination->list->PushFront(value);
  } else {
    destination->list->PushBack(value);
  }
  w.Changed(destination_key, destination);
  if (source_key != destination_key) w.Changed(source_key, source);
  return KvResult::Bulk(std::move(value));
}

// ------------------------------------------------------------ reads

void LLenRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  bool wrong_type = false;
  const StringList* list = FindList(call, state, &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  reply.Integer(list == nullptr ? 0 : static_cast<int64_t>(list->size()));
}

void LRangeRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseRedisInt64(call.args[2], &start) || !ParseRedisInt64(call.args[3], &stop)) {
    return reply.Error(kErrNotInteger);
  }
  bool wrong_type = false;
  const StringList* list = FindList(call, state, &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  uint64_t first = 0;
  uint64_t last = 0;
  if (list == nullptr || !list->ClampRange(start, stop, &first, &last)) {
    return reply.ArrayHeader(0);
  }
  reply.ArrayHeader(last - first + 1);
  for (uint64_t i = first; i <= last; ++i) reply.Bulk((*list)[i]);
}

void LIndexRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  bool wrong_type = false;
  const StringList* list = FindList(call, state, &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  if (list == nullptr) return reply.NullBulk();
  int64_t index = 0;
  if (!ParseRedisInt64(call.args[2], &index)) return reply.Error(kErrNotInteger);
  const std::string* value = list->At(index);
  if (value == nullptr) return reply.NullBulk();
  reply.Bulk(*value);
}

void LPosRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  int64_t rank = 1;
  int64_t count = -1;  // -1: no COUNT option
  int64_t max_len = 0;
  for (size_t j = 3; j < call.args.size(); ++j) {
    std::string_view opt = call.args[j];
    const bool more = j + 1 < call.args.size();
    if (EqualsIgnoreCase(opt, "rank") && more) {
      if (!ParseRedisInt64(call.args[++j], &rank)) return reply.Error(kErrNotInteger);
      if (rank == 0) {
        return reply.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
      }
    } else if (EqualsIgnoreCase(opt, "count") && more) {
      if (!ParseNonNegative(call.args[++j], &count)) {
        return reply.Error("ERR COUNT can't be negative");
      }
    } else if (EqualsIgnoreCase(opt, "maxlen") && more) {
      if (!ParseNonNegative(call.args[++j], &max_len)) {
        return reply.Error("ERR MAXLEN can't be negative");
      }
    } else {
      return reply.Error(kErrSyntax);
    }
  }
  // Redis 7.0 negates the rank in a long: the smallest one acts as -1.
  if (rank == std::numeric_limits<int64_t>::min()) rank = -1;
  bool wrong_type = false;
  const StringList* list = FindList(call, state, &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  if (list == nullptr) return count != -1 ? reply.ArrayHeader(0) : reply.NullBulk();
  const std::vector<uint64_t> found =
      list->Positions(call.args[2], rank, count == -1 ? 1 : static_cast<uint64_t>(count),
                      static_cast<uint64_t>(max_len));
  if (count == -1) {
    if (found.empty()) return reply.NullBulk();
    return reply.Integer(static_cast<int64_t>(found[0]));
  }
  reply.ArrayHeader(found.size());
  for (uint64_t position : found) reply.Integer(static_cast<int64_t>(position));
}

namespace {

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadonly;
constexpr uint32_t kF = kCmdFast;
constexpr uint32_t kM = kCmdDenyOom;

const CommandSpec kListCommands[] = {
    // name, arity, flags, prepare, read, subcommands, first key, last key, step, apply
    {"lindex", 3, kR, nullptr, LIndexRead, {}, 1, 1, 1},
    {"linsert", 5, kW | kM, ProposeAsCommand, nullptr, {}, 1, 1, 1, LInsertApply},
    {"llen", 2, kR | kF, nullptr, LLenRead, {}, 1, 1, 1},
    {"lmove", 5, kW | kM, ProposeAsCommand, nullptr, {}, 1, 2, 1, LMoveApply},
    {"lpop", -2, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ListPopApply},
    {"lpos", -3, kR, nullptr, LPosRead, {}, 1, 1, 1},
    {"lpush", -3, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ListPushApply},
    {"lpushx", -3, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ListPushApply},
    {"lrange", 4, kR, nullptr, LRangeRead, {}, 1, 1, 1},
    {"lrem", 4, kW, ProposeAsCommand, nullptr, {}, 1, 1, 1, LRemApply},
    {"lset", 4, kW | kM, ProposeAsCommand, nullptr, {}, 1, 1, 1, LSetApply},
    {"ltrim", 4, kW, ProposeAsCommand, nullptr, {}, 1, 1, 1, LTrimApply},
    {"rpop", -2, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ListPopApply},
    {"rpoplpush", 3, kW | kM, ProposeAsCommand, nullptr, {}, 1, 2, 1, LMoveApply},
    {"rpush", -3, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ListPushApply},
    {"rpushx", -3, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ListPushApply},
};

}  // namespace

std::span<const CommandSpec> ListCommands() {
  return kListCommands;
}

}  // namespace nines::store
