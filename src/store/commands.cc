// The command table and its handlers. Each handler validates its arguments
// exactly as Redis does (same order of checks, same error texts) and then
// replies, asks for a read, or encodes a write (see commands.h).
#include "store/commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <unordered_map>

#include "base/check.h"
#include "store/command_args.h"
#include "store/command_groups.h"
#include "store/kv_command.h"
#include "store/resp_writer.h"

namespace nines::store {
namespace {

using resp::ReplyWriter;

constexpr std::string_view kRedisVersion = "7.0.0";  // what clients see for feature checks
constexpr std::string_view kNinesVersion = "0.1.0";

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

// Redis's bytesToHuman: "512B", "1.50K", "2.00M", ...
std::string BytesToHuman(uint64_t n) {
  if (n < 1024) return fmt::format("{}B", n);
  const char* units = "KMGTPE";
  double value = static_cast<double>(n) / 1024;
  for (int i = 0; i < 5 && value >= 1024; ++i) {
    value /= 1024;
    ++units;
  }
  return fmt::format("{:.2f}{}", value, *units);
}

void Reply(CommandCall& call) {
  call.plan.kind = PlanKind::kReply;
}

void ReplyError(CommandCall& call, std::string_view text) {
  ReplyWriter(call.out).Error(text);
  Reply(call);
}

void ReplyOk(CommandCall& call) {
  ReplyWriter(call.out).SimpleString("OK");
  Reply(call);
}

// Encodes command as the plan's proposal.
void Propose(CommandCall& call, KvCommand& command, WriteReply reply = WriteReply::kDirect) {
  command.now_ms = call.context.now_ms;
  call.plan.kind = PlanKind::kWrite;
  call.plan.reply = reply;
  call.plan.proposal.clear();
  EncodeKvCommand(command, &call.plan.proposal);
}

// Key and value size limits for writes; false (and an error reply) if over.
bool CheckKey(CommandCall& call, std::string_view key) {
  if (key.size() <= call.context.config->max_key_bytes) return true;
  ReplyError(call, kErrKeyTooLarge);
  return false;
}

bool CheckValue(CommandCall& call, std::string_view value) {
  if (value.size() <= call.context.config->max_value_bytes) return true;
  ReplyError(call, kErrStringTooLong);
  return false;
}

// The element bound a write command carries (KvCommand::integer, see
// KvWriter::OverElementLimit): the one of the type its name says it grows.
uint64_t ElementBound(const CommandConfig& config, std::string_view name) {
  if (name.starts_with("bz") || name.starts_with('z')) return config.max_zset_members;
  if (name.starts_with('h')) return config.max_hash_fields;
  if (name.starts_with('l') || name.starts_with("rpush") || name == "rpoplpush" ||
      name == "blmove" || name == "brpoplpush") {
    return config.max_list_elements;
  }
  if (name.starts_with('s')) return config.max_set_members;
  return 0;
}

// The prepare of commands replicated as they came (KvOp::kCommand): checks
// the sizes of keys (at the spec's key positions) and of every other
// argument, then proposes the name and arguments for the spec's apply.
}  // namespace

void ProposeAsCommand(CommandCall& call) {
  const CommandSpec& spec = *call.plan.spec;
  std::vector<bool> is_key(call.args.size(), false);
  if (spec.first_key > 0) {
    const size_t last =
        spec.last_key < 0 ? call.args.size() + spec.last_key : static_cast<size_t>(spec.last_key);
    for (size_t i = static_cast<size_t>(spec.first_key); i <= last && i < call.args.size();
         i += static_cast<size_t>(std::max(spec.key_step, 1))) {
      is_key[i] = true;
    }
  }
  for (size_t i = 1; i < call.args.size(); ++i) {
    if (is_key[i] ? !CheckKey(call, call.args[i]) : !CheckValue(call, call.args[i])) return;
  }
  KvCommand command;
  command.op = KvOp::kCommand;
  command.number = call.context.config->max_value_bytes;
  command.integer = static_cast<int64_t>(ElementBound(*call.context.config, spec.name));
  command.args.assign(call.args.begin(), call.args.end());
  command.args[0] = spec.name.substr(spec.name.find('|') + 1);  // lower case
  Propose(call, command);
}

const KvEntry* FindTypedForRead(const ReadCall& call, const KvState& state, std::string_view key,
                                ValueType type, bool* done) {
  const KvEntry* e = state.Find(key, call.context.now_ms);
  *done = e != nullptr && e->type != type;
  if (*done) resp::ReplyWriter(call.out).Error(kErrWrongType);
  return *done ? nullptr : e;
}

namespace {

bool ParseIntOrReply(CommandCall& call, std::string_view text, int64_t* value) {
  if (ParseRedisInt64(text, value)) return true;
  ReplyError(call, kErrNotInteger);
  return false;
}

// ------------------------------------------------------------ connection

void PingPrepare(CommandCall& call) {
  ReplyWriter w(call.out);
  if (call.args.size() > 2) {
    w.Error(WrongArityError("ping"));
  } else if (call.session.pubsub_subscriptions > 0) {
    // Subscribed (RESP2): a push-shaped ["pong", argument or ""], as Redis.
    w.ArrayHeader(2);
    w.Bulk("pong");
    w.Bulk(call.args.size() == 2 ? call.args[1] : std::string_view());
  } else if (call.args.size() == 2) {
    w.Bulk(call.args[1]);
  } else {
    w.SimpleString("PONG");
  }
  Reply(call);
}

void EchoPrepare(CommandCall& call) {
  ReplyWriter(call.out).Bulk(call.args[1]);
  Reply(call);
}

void QuitPrepare(CommandCall& call) {
  call.session.close_after_reply = true;
  ReplyOk(call);
}

// READONLY / READWRITE (as in Redis Cluster): opt in to, or out of, reads
// served by this member without a read barrier, possibly stale.
void ReadOnlyPrepare(CommandCall& call) {
  call.session.stale_reads = true;
  ReplyOk(call);
}

void ReadWritePrepare(CommandCall& call) {
  call.session.stale_reads = false;
  ReplyOk(call);
}

void SelectPrepare(CommandCall& call) {
  int64_t db = 0;
  if (!ParseIntOrReply(call, call.args[1], &db)) return;
  if (db != 0) return ReplyError(call, kErrDbIndex);
  ReplyOk(call);
}

bool PasswordMatches(const std::string& expected, std::string_view given) {
  // Compare without an early exit, so timing does not reveal the prefix.
  unsigned diff = expected.size() != given.size();
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(i < expected.size() ? expected[i] : 0);
  }
  return diff == 0;
}

void AuthPrepare(CommandCall& call) {
  if (call.args.size() > 3) return ReplyError(call, kErrSyntax);
  const std::string& password = call.context.config->requirepass;
  if (call.args.size() == 2 && password.empty()) return ReplyError(call, kErrAuthNotConfigured);
  std::string_view user = call.args.size() == 3 ? call.args[1] : "default";
  std::string_view given = call.args.back();
  if (user != "default" || (!password.empty() && !PasswordMatches(password, given))) {
    return ReplyError(call, kErrWrongPass);
  }
  call.session.authenticated = true;
  ReplyOk(call);
}

bool ValidClientName(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '!' && c <= '~'; });
}

void HelloPrepare(CommandCall& call) {
  size_t i = 1;
  if (call.args.size() >= 2) {
    int64_t version = 0;
    if (!ParseRedisInt64(call.args[1], &version)) {
      return ReplyError(call, "ERR Protocol version is not an integer or out of range");
    }
    if (version != 2) return ReplyError(call, kErrNoProto);  // RESP3 is not offered
    i = 2;
  }
  bool authenticated = call.session.authenticated || call.context.config->requirepass.empty();
  std::string_view new_name;
  bool set_name = false;
  for (; i < call.args.size(); ++i) {
    const bool more = call.args.size() - i - 1;
    if (EqualsIgnoreCase(call.args[i], "auth") && call.args.size() - i - 1 >= 2) {
      const std::string& password = call.context.config->requirepass;
      if (call.args[i + 1] != "default" ||
          (!password.empty() && !PasswordMatches(password, call.args[i + 2]))) {
        return ReplyError(call, kErrWrongPass);
      }
      authenticated = true;
      i += 2;
    } else if (EqualsIgnoreCase(call.args[i], "setname") && more) {
      new_name = call.args[i + 1];
      set_name = true;
      ++i;
    } else {
      return ReplyError(call, fmt::format("ERR Syntax error in HELLO option '{}'", call.args[i]));
    }
  }
  if (!authenticated) {
    return ReplyError(call,
                      "NOAUTH HELLO must be called with the client already authenticated, "
                      "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                      "authenticate the client and select the RESP protocol version at the same "
                      "time");
  }
  if (set_name && !ValidClientName(new_name)) {
    return ReplyError(call,
                      "ERR Client names cannot contain spaces, newlines or special characters.");
  }
  call.session.authenticated = true;
  if (set_name) call.session.name = std::string(new_name);
  ReplyWriter w(call.out);
  w.ArrayHeader(14);  // a RESP2 "map": key, value, ...
  w.Bulk("server");
  w.Bulk("redis");
  w.Bulk("version");
  w.Bulk(kRedisVersion);
  w.Bulk("proto");
  w.Integer(2);
  w.Bulk("id");
  w.Integer(static_cast<int64_t>(call.session.id));
  w.Bulk("mode");
  w.Bulk("standalone");
  w.Bulk("role");
  w.Bulk(call.context.info->role == "leader" ? "master" : "replica");
  w.Bulk("modules");
  w.ArrayHeader(0);
  Reply(call);
}

// CLIENT subcommands.
void ClientIdPrepare(CommandCall& call) {
  ReplyWriter(call.out).Integer(static_cast<int64_t>(call.session.id));
  Reply(call);
}

void ClientGetNamePrepare(CommandCall& call) {
  ReplyWriter w(call.out);
  if (call.session.name.empty()) {
    w.NullBulk();
  } else {
    w.Bulk(call.session.name);
  }
  Reply(call);
}

void ClientSetNamePrepare(CommandCall& call) {
  if (!ValidClientName(call.args[2])) {
    return ReplyError(call,
                      "ERR Client names cannot contain spaces, newlines or special characters.");
  }
  call.session.name = std::string(call.args[2]);
  ReplyOk(call);
}

void ClientSetInfoPrepare(CommandCall& call) {
  // Redis 7.2 clients send library name/version; accepted and ignored.
  if (!EqualsIgnoreCase(call.args[2], "lib-name") && !EqualsIgnoreCase(call.args[2], "lib-ver")) {
    return ReplyError(call, fmt::format("ERR Unrecognized option '{}'", call.args[2]));
  }
  ReplyOk(call);
}

// ------------------------------------------------------------ string writes

void SetPrepare(CommandCall& call) {
  KvCommand command;
  command.op = KvOp::kSet;
  enum ExpireUnit { kNone, kEx, kPx, kExAt, kPxAt } unit = kNone;
  std::string_view expire_arg;
  for (size_t j = 3; j < call.args.size(); ++j) {
    std::string_view opt = call.args[j];
    const bool has_next = j + 1 < call.args.size();
    if (EqualsIgnoreCase(opt, "nx") && !(command.flags & kFlagXx)) {
      command.flags |= kFlagNx;
    } else if (EqualsIgnoreCase(opt, "xx") && !(command.flags & kFlagNx)) {
      command.flags |= kFlagXx;
    } else if (EqualsIgnoreCase(opt, "get")) {
      command.flags |= kFlagGet;
    } else if (EqualsIgnoreCase(opt, "keepttl") && unit == kNone) {
      command.flags |= kFlagKeepTtl;
    } else if (has_next && unit == kNone && !(command.flags & kFlagKeepTtl) &&
               (EqualsIgnoreCase(opt, "ex") || EqualsIgnoreCase(opt, "px") ||
                EqualsIgnoreCase(opt, "exat") || EqualsIgnoreCase(opt, "pxat"))) {
      unit = EqualsIgnoreCase(opt, "ex")     ? kEx
             : EqualsIgnoreCase(opt, "px")   ? kPx
             : EqualsIgnoreCase(opt, "exat") ? kExAt
                                             : kPxAt;
      expire_arg = call.args[++j];
    } else {
      return ReplyError(call, kErrSyntax);
    }
  }
  if (unit != kNone) {
    int64_t value = 0;
    if (!ParseIntOrReply(call, expire_arg, &value)) return;
    const bool seconds = unit == kEx || unit == kExAt;
    if (value <= 0 || (seconds && value > std::numeric_limits<int64_t>::max() / 1000)) {
      return ReplyError(call, "ERR invalid expire time in 'set' command");
    }
    if (seconds) value *= 1000;
    if ((unit == kEx || unit == kPx) &&
        value > std::numeric_limits<int64_t>::max() - call.context.now_ms) {
      return ReplyError(call, "ERR invalid expire time in 'set' command");
    }
    command.expire_kind =
        unit == kEx || unit == kPx ? ExpireKind::kRelativeMs : ExpireKind::kAbsoluteMs;
    command.integer = value;
  }
  if (!CheckKey(call, call.args[1]) || !CheckValue(call, call.args[2])) return;
  command.args = {call.args[1], call.args[2]};
  Propose(call, command);
}

void SetNxPrepare(CommandCall& call) {
  if (!CheckKey(call, call.args[1]) || !CheckValue(call, call.args[2])) return;
  KvCommand command;
  command.op = KvOp::kSet;
  command.flags = kFlagNx;
  command.args = {call.args[1], call.args[2]};
  Propose(call, command, WriteReply::kOkNilAsInteger);
}

// GETSET key value: SET key value GET.
void GetSetPrepare(CommandCall& call) {
  if (!CheckKey(call, call.args[1]) || !CheckValue(call, call.args[2])) return;
  KvCommand command;
  command.op = KvOp::kSet;
  command.flags = kFlagGet;
  command.args = {call.args[1], call.args[2]};
  Propose(call, command);
}

// SETEX key seconds value / PSETEX key ms value.
void SetExGeneric(CommandCall& call, bool seconds, std::string_view name) {
  int64_t value = 0;
  if (!ParseIntOrReply(call, call.args[2], &value)) return;
  const std::string invalid = fmt::format("ERR invalid expire time in '{}' command", name);
  if (value <= 0 || (seconds && value > std::numeric_limits<int64_t>::max() / 1000)) {
    return ReplyError(call, invalid);
  }
  if (seconds) value *= 1000;
  if (value > std::numeric_limits<int64_t>::max() - call.context.now_ms) {
    return ReplyError(call, invalid);
  }
  if (!CheckKey(call, call.args[1]) || !CheckValue(call, call.args[3])) return;
  KvCommand command;
  command.op = KvOp::kSet;
  command.expire_kind = ExpireKind::kRelativeMs;
  command.integer = value;
  command.args = {call.args[1], call.args[3]};
  Propose(call, command);
}

void SetExPrepare(CommandCall& call) {
  SetExGeneric(call, true, "setex");
}
void PSetExPrepare(CommandCall& call) {
  SetExGeneric(call, false, "psetex");
}

void KeyOnlyWrite(CommandCall& call, KvOp op) {
  KvCommand command;
  command.op = op;
  command.args = {call.args[1]};
  Propose(call, command);
}

void GetDelPrepare(CommandCall& call) {
  KeyOnlyWrite(call, KvOp::kGetDel);
}
void PersistPrepare(CommandCall& call) {
  KeyOnlyWrite(call, KvOp::kPersist);
}

void DelPrepare(CommandCall& call) {
  KvCommand command;
  command.op = KvOp::kDel;
  command.args.assign(call.args.begin() + 1, call.args.end());
  Propose(call, command);
}

void IncrByDelta(CommandCall& call, int64_t delta) {
  if (!CheckKey(call, call.args[1])) return;
  KvCommand command;
  command.op = KvOp::kIncrBy;
  command.integer = delta;
  command.args = {call.args[1]};
  Propose(call, command);
}

void IncrPrepare(CommandCall& call) {
  IncrByDelta(call, 1);
}
void DecrPrepare(CommandCall& call) {
  IncrByDelta(call, -1);
}

void IncrByPrepare(CommandCall& call) {
  int64_t delta = 0;
  if (!ParseIntOrReply(call, call.args[2], &delta)) return;
  IncrByDelta(call, delta);
}

void DecrByPrepare(CommandCall& call) {
  int64_t delta = 0;
  if (!ParseIntOrReply(call, call.args[2], &delta)) return;
  if (delta == std::numeric_limits<int64_t>::min()) {
    return ReplyError(call, "ERR decrement would overflow");
  }
  IncrByDelta(call, -delta);
}

void AppendPrepare(CommandCall& call) {
  if (!CheckKey(call, call.args[1]) || !CheckValue(call, call.args[2])) return;
  KvCommand command;
  command.op = KvOp::kAppend;
  command.number = call.context.config->max_value_bytes;
  command.args = {call.args[1], call.args[2]};
  Propose(call, command);
}

void MSetPrepare(CommandCall& call) {
  if (call.args.size() % 2 == 0) return ReplyError(call, WrongArityError("mset"));
  for (size_t i = 1; i + 1 < call.args.size(); i += 2) {
    if (!CheckKey(call, call.args[i]) || !CheckValue(call, call.args[i + 1])) return;
  }
  KvCommand command;
  command.op = KvOp::kMSet;
  command.args.assign(call.args.begin() + 1, call.args.end());
  Propose(call, command);
}

void ExpireGeneric(CommandCall& call, bool seconds, std::string_view name, bool absolute = false) {
  int64_t when = 0;
  if (!ParseIntOrReply(call, call.args[2], &when)) return;
  uint8_t flags = 0;
  for (size_t j = 3; j < call.args.size(); ++j) {
    std::string_view opt = call.args[j];
    if (EqualsIgnoreCase(opt, "nx")) {
      flags |= kFlagNx;
    } else if (EqualsIgnoreCase(opt, "xx")) {
      flags |= kFlagXx;
    } else if (EqualsIgnoreCase(opt, "gt")) {
      flags |= kFlagGt;
    } else if (EqualsIgnoreCase(opt, "lt")) {
      flags |= kFlagLt;
    } else {
      return ReplyError(call, fmt::format("ERR Unsupported option {}", opt));
    }
  }
  if ((flags & kFlagNx) && (flags & (kFlagXx | kFlagGt | kFlagLt))) {
    return ReplyError(call, "ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if ((flags & kFlagGt) && (flags & kFlagLt)) {
    return ReplyError(call, "ERR GT and LT options at the same time are not compatible");
  }
  const std::string invalid = fmt::format("ERR invalid expire time in '{}' command", name);
  if (seconds) {
    if (when > std::numeric_limits<int64_t>::max() / 1000 ||
        when < std::numeric_limits<int64_t>::min() / 1000) {
      return ReplyError(call, invalid);
    }
    when *= 1000;
  }
  if (!absolute && when > std::numeric_limits<int64_t>::max() - call.context.now_ms) {
    return ReplyError(call, invalid);
  }
  KvCommand command;
  command.op = KvOp::kExpire;
  command.flags = flags;
  command.expire_kind = absolute ? ExpireKind::kAbsoluteMs : ExpireKind::kRelativeMs;
  command.integer = when;
  command.args = {call.args[1]};
  Propose(call, command);
}

void ExpirePrepare(CommandCall& call) {
  ExpireGeneric(call, true, "expire");
}
void PExpirePrepare(CommandCall& call) {
  ExpireGeneric(call, false, "pexpire");
}
void ExpireAtPrepare(CommandCall& call) {
  ExpireGeneric(call, true, "expireat", true);
}
void PExpireAtPrepare(CommandCall& call) {
  ExpireGeneric(call, false, "pexpireat", true);
}

void FlushAllPrepare(CommandCall& call) {
  if (call.args.size() > 2 || (call.args.size() == 2 && !EqualsIgnoreCase(call.args[1], "sync") &&
                               !EqualsIgnoreCase(call.args[1], "async"))) {
    return ReplyError(call, kErrSyntax);
  }
  KvCommand command;
  command.op = KvOp::kFlushAll;
  Propose(call, command);
}

// ------------------------------------------------------------ reads

void GetRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  const KvEntry* entry = state.Find(call.args[1], call.context.now_ms);
  if (entry == nullptr) {
    w.NullBulk();
  } else if (entry->type != ValueType::kString) {
    w.Error(kErrWrongType);
  } else {
    w.Bulk(entry->value);
  }
}

void MGetRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  w.ArrayHeader(call.args.size() - 1);
  for (size_t i = 1; i < call.args.size(); ++i) {
    const KvEntry* entry = state.Find(call.args[i], call.context.now_ms);
    if (entry == nullptr || entry->type != ValueType::kString) {  // as Redis: nil
      w.NullBulk();
    } else {
      w.Bulk(entry->value);
    }
  }
}

void ExistsRead(const ReadCall& call, const KvState& state) {
  int64_t count = 0;
  for (size_t i = 1; i < call.args.size(); ++i) {
    if (state.Find(call.args[i], call.context.now_ms) != nullptr) ++count;
  }
  ReplyWriter(call.out).Integer(count);
}

void StrLenRead(const ReadCall& call, const KvState& state) {
  const KvEntry* entry = state.Find(call.args[1], call.context.now_ms);
  if (entry != nullptr && entry->type != ValueType::kString) {
    return ReplyWriter(call.out).Error(kErrWrongType);
  }
  ReplyWriter(call.out).Integer(entry ? static_cast<int64_t>(entry->value.size()) : 0);
}

void PttlRead(const ReadCall& call, const KvState& state) {
  ReplyWriter(call.out).Integer(state.PttlMs(call.args[1], call.context.now_ms));
}

void TtlRead(const ReadCall& call, const KvState& state) {
  int64_t ms = state.PttlMs(call.args[1], call.context.now_ms);
  ReplyWriter(call.out).Integer(ms < 0 ? ms : (ms + 500) / 1000);
}

void TypeRead(const ReadCall& call, const KvState& state) {
  const KvEntry* entry = state.Find(call.args[1], call.context.now_ms);
  ReplyWriter(call.out).SimpleString(entry ? TypeName(entry->type) : "none");
}

void DbSizeRead(const ReadCall& call, const KvState& state) {
  ReplyWriter(call.out).Integer(static_cast<int64_t>(state.LiveKeyCount(call.context.now_ms)));
}

void KeysRead(const ReadCall& call, const KvState& state) {
  std::vector<std::string_view> keys = state.Keys(call.args[1], call.context.now_ms);
  ReplyWriter w(call.out);
  w.ArrayHeader(keys.size());
  for (std::string_view key : keys) w.Bulk(key);
}

void ScanPrepare(CommandCall& call) {
  // Redis parses the cursor with strtoull: an unsigned 64-bit decimal, where
  // a leading '-' wraps around ("-1" is 2^64-1).
  std::string_view text = call.args[1];
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  uint64_t cursor = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), cursor);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return ReplyError(call, kErrInvalidCursor);
  }
  if (negative) cursor = 0 - cursor;
  call.plan.cursor = cursor;
  call.plan.count = 10;
  call.plan.pattern = "*";
  for (size_t j = 2; j < call.args.size(); j += 2) {
    if (j + 1 >= call.args.size()) return ReplyError(call, kErrSyntax);
    std::string_view opt = call.args[j];
    if (EqualsIgnoreCase(opt, "count")) {
      int64_t count = 0;
      if (!ParseIntOrReply(call, call.args[j + 1], &count)) return;
      if (count < 1) return ReplyError(call, kErrSyntax);
      call.plan.count = static_cast<uint64_t>(count);
    } else if (EqualsIgnoreCase(opt, "match")) {
      call.plan.pattern = call.args[j + 1];
    } else if (EqualsIgnoreCase(opt, "type")) {
      // Redis 7.0 accepts any name; an unknown one matches no key.
      ValueType type = ValueType::kString;
      call.plan.type_matches = ParseTypeName(call.args[j + 1], &type);
      call.plan.scan_type = type;
      call.plan.scan_by_type = true;
    } else {
      return ReplyError(call, kErrSyntax);
    }
  }
  call.plan.kind = PlanKind::kRead;
}

void ScanRead(const ReadCall& call, const KvState& state) {
  const size_t count = static_cast<size_t>(std::min<uint64_t>(call.plan.count, 1u << 20));
  ScanPage page = state.Scan(call.plan.cursor, count, call.plan.pattern, call.context.now_ms);
  ReplyWriter w(call.out);
  w.ArrayHeader(2);
  w.Bulk(fmt::format("{}", page.next_cursor));
  if (!call.plan.type_matches) page.keys.clear();
  if (call.plan.scan_by_type) {
    std::erase_if(page.keys, [&](std::string_view key) {
      const KvEntry* entry = state.Find(key, call.context.now_ms);
      return entry == nullptr || entry->type != call.plan.scan_type;
    });
  }
  w.ArrayHeader(page.keys.size());
  for (std::string_view key : page.keys) w.Bulk(key);
}

// ------------------------------------------------------------ server

void InfoPrepare(CommandCall& call) {
  call.plan.kind = PlanKind::kRead;
  call.plan.linearizable = false;  // local view, like Redis replicas answer INFO
}

void InfoRead(const ReadCall& call, const KvState& state) {
  const ServerInfo& info = *call.context.info;
  auto wanted = [&call](std::string_view section, bool in_default) {
    if (call.args.size() == 1) return in_default;
    for (size_t i = 1; i < call.args.size(); ++i) {
      if (EqualsIgnoreCase(call.args[i], section) || EqualsIgnoreCase(call.args[i], "all") ||
          EqualsIgnoreCase(call.args[i], "everything") ||
          (in_default && EqualsIgnoreCase(call.args[i], "default"))) {
        return true;
      }
    }
    return false;
  };
  std::string text;
  auto section = [&text](std::string_view title) {
    if (!text.empty()) text += "\r\n";
    text += fmt::format("# {}\r\n", title);
  };
  if (wanted("server", true)) {
    section("Server");
    text += fmt::format(
        "redis_version:{}\r\nnines_version:{}\r\nredis_mode:standalone\r\nos:Linux\r\n"
        "arch_bits:64\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n"
        "uptime_in_days:{}\r\n",
        kRedisVersion, kNinesVersion, info.process_id, info.tcp_port, info.uptime_seconds,
        info.uptime_seconds / 86400);
  }
  if (wanted("clients", true)) {
    section("Clients");
    text += fmt::format("connected_clients:{}\r\nblocked_clients:{}\r\n", info.connected_clients,
                        info.blocked_clients);
  }
  if (wanted("memory", true)) {
    section("Memory");
    // The store's own accounting of its data (KvState::memory_bytes), not
    // the process's: what maxmemory is compared with.
    const uint64_t max = call.context.config->max_memory_bytes;
    text += fmt::format(
        "used_memory:{0}\r\nused_memory_human:{1}\r\nused_memory_dataset:{0}\r\n"
        "maxmemory:{2}\r\nmaxmemory_human:{3}\r\nmaxmemory_policy:noeviction\r\n",
        state.memory_bytes(), BytesToHuman(state.memory_bytes()), max, BytesToHuman(max));
  }
  if (wanted("replication", true)) {
    section("Replication");
    const bool leader = info.role == "leader";
    text += fmt::format("role:{}\r\n", leader ? "master" : "slave");
    if (leader) {
      text += fmt::format("connected_slaves:{}\r\n", info.members.size());
      for (size_t i = 0; i < info.members.size(); ++i) {
        const MemberInfo& m = info.members[i];
        text += fmt::format("slave{}:ip={},port={},state=online,offset={},lag=0\r\n", i,
                            m.client_host, m.client_port, m.match_index);
      }
    } else {
      text +=
          fmt::format("master_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n",
                      info.leader_host, info.leader_port, info.leader_host.empty() ? "down" : "up");
    }
    text += fmt::format(
        "master_repl_offset:{}\r\nnines_id:{}\r\nnines_role:{}\r\nnines_leader:{}\r\n"
        "nines_term:{}\r\nnines_commit_index:{}\r\nnines_applied_index:{}\r\n",
        info.applied_index, info.id, info.role, info.leader_id, info.term, info.commit_index,
        info.applied_index);
  }
  if (wanted("keyspace", true)) {
    section("Keyspace");
    size_t keys = state.LiveKeyCount(call.context.now_ms);
    if (keys > 0) {
      text += fmt::format("db0:keys={},expires={},avg_ttl=0\r\n", keys, state.keys_with_expiry());
    }
  }
  ReplyWriter(call.out).Bulk(text);
}

void RolePrepare(CommandCall& call) {
  const ServerInfo& info = *call.context.info;
  ReplyWriter w(call.out);
  if (info.role == "leader") {
    w.ArrayHeader(3);
    w.Bulk("master");
    w.Integer(static_cast<int64_t>(info.applied_index));
    w.ArrayHeader(info.members.size());
    for (const MemberInfo& m : info.members) {
      w.ArrayHeader(3);
      w.Bulk(m.client_host);
      w.Bulk(fmt::format("{}", m.client_port));
      w.Bulk(fmt::format("{}", m.match_index));
    }
  } else {
    w.ArrayHeader(5);
    w.Bulk("slave");
    w.Bulk(info.leader_host);
    w.Integer(info.leader_port);
    w.Bulk(info.leader_host.empty() ? "connecting" : "connected");
    w.Integer(static_cast<int64_t>(info.applied_index));
  }
  Reply(call);
}

void ConfigGetPrepare(CommandCall& call) {
  // Read-only view of the settings Redis tools ask for (redis-benchmark reads
  // "save" and "appendonly"); nines is configured by its TOML file instead.
  const CommandConfig& config = *call.context.config;
  const std::pair<std::string_view, std::string> params[] = {
      {"appendfsync", "always"},
      {"appendonly", "yes"},
      {"databases", "1"},
      {"maxmemory", fmt::format("{}", config.max_memory_bytes)},
      {"proto-max-bulk-len", fmt::format("{}", config.max_value_bytes)},
      {"requirepass", ""},  // never revealed
      {"save", ""},
  };
  std::vector<const std::pair<std::string_view, std::string>*> matched;
  for (const auto& param : params) {
    for (size_t i = 2; i < call.args.size(); ++i) {
      if (GlobMatch(call.args[i], param.first)) {
        matched.push_back(&param);
        break;
      }
    }
  }
  ReplyWriter w(call.out);
  w.ArrayHeader(matched.size() * 2);
  for (const auto* param : matched) {
    w.Bulk(param->first);
    w.Bulk(param->second);
  }
  Reply(call);
}

void WriteCommandInfo(ReplyWriter& w, const CommandSpec& spec) {
  w.ArrayHeader(10);
  w.Bulk(spec.name);
  w.Integer(spec.arity);
  std::vector<std::string_view> flags;
  if (spec.flags & kCmdWrite) flags.push_back("write");
  if (spec.flags & kCmdReadonly) flags.push_back("readonly");
  if (spec.flags & kCmdAdmin) flags.push_back("admin");
  if (spec.flags & kCmdNoAuth) flags.push_back("no_auth");
  if (spec.flags & kCmdDenyOom) flags.push_back("denyoom");
  if (spec.flags & kCmdFast) flags.push_back("fast");
  w.ArrayHeader(flags.size());
  for (std::string_view f : flags) w.SimpleString(f);
  w.Integer(spec.first_key);
  w.Integer(spec.last_key);
  w.Integer(spec.key_step);
  w.ArrayHeader(0);  // ACL categories
  w.ArrayHeader(0);  // tips
  w.ArrayHeader(0);  // key specs
  w.ArrayHeader(spec.subcommands.size());
  for (const CommandSpec& sub : spec.subcommands) WriteCommandInfo(w, sub);
}

void CommandPrepare(CommandCall& call) {
  ReplyWriter w(call.out);
  std::span<const CommandSpec> all = AllCommands();
  w.ArrayHeader(all.size());
  for (const CommandSpec& spec : all) WriteCommandInfo(w, spec);
  Reply(call);
}

void CommandCountPrepare(CommandCall& call) {
  ReplyWriter(call.out).Integer(static_cast<int64_t>(AllCommands().size()));
  Reply(call);
}

void CommandDocsPrepare(CommandCall& call) {
  // An empty map: redis-cli then uses its built-in help.
  ReplyWriter(call.out).ArrayHeader(0);
  Reply(call);
}

void CommandInfoPrepare(CommandCall& call) {
  ReplyWriter w(call.out);
  if (call.args.size() == 2) {
    CommandPrepare(call);
    return;
  }
  w.ArrayHeader(call.args.size() - 2);
  for (size_t i = 2; i < call.args.size(); ++i) {
    const CommandSpec* spec = LookupCommand(call.args[i]);
    if (spec == nullptr) {
      w.NullBulk();  // as Redis 7 in RESP2
    } else {
      WriteCommandInfo(w, *spec);
    }
  }
  Reply(call);
}

void CommandListPrepare(CommandCall& call) {
  ReplyWriter w(call.out);
  std::span<const CommandSpec> all = AllCommands();
  w.ArrayHeader(all.size());
  for (const CommandSpec& spec : all) w.Bulk(spec.name);
  Reply(call);
}

// ------------------------------------------------------------ the table

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadonly;
constexpr uint32_t kF = kCmdFast;
constexpr uint32_t kM = kCmdDenyOom;

const CommandSpec kClientSubcommands[] = {
    {"client|id", 2, kF, ClientIdPrepare, nullptr, {}},
    {"client|getname", 2, kF, ClientGetNamePrepare, nullptr, {}},
    {"client|setname", 3, kF, ClientSetNamePrepare, nullptr, {}},
    {"client|setinfo", 4, kF, ClientSetInfoPrepare, nullptr, {}},
};

const CommandSpec kConfigSubcommands[] = {
    {"config|get", -3, 0, ConfigGetPrepare, nullptr, {}},
};

const CommandSpec kCommandSubcommands[] = {
    {"command|count", 2, kF, CommandCountPrepare, nullptr, {}},
    {"command|docs", -2, 0, CommandDocsPrepare, nullptr, {}},
    {"command|info", -2, 0, CommandInfoPrepare, nullptr, {}},
    {"command|list", -2, 0, CommandListPrepare, nullptr, {}},
};

const CommandSpec kCommands[] = {
    // name, arity, flags, prepare, read, subcommands, first key, last key, step
    {"append", 3, kW | kM | kF, AppendPrepare, nullptr, {}, 1, 1, 1},
    {"auth", -2, kCmdNoAuth | kF, AuthPrepare, nullptr, {}},
    {"client", -2, 0, nullptr, nullptr, kClientSubcommands},
    {"command", -1, 0, CommandPrepare, nullptr, kCommandSubcommands},
    {"config", -2, kCmdAdmin, nullptr, nullptr, kConfigSubcommands},
    {"dbsize", 1, kR | kF, nullptr, DbSizeRead, {}},
    {"decr", 2, kW | kM | kF, DecrPrepare, nullptr, {}, 1, 1, 1},
    {"decrby", 3, kW | kM | kF, DecrByPrepare, nullptr, {}, 1, 1, 1},
    {"del", -2, kW, DelPrepare, nullptr, {}, 1, -1, 1},
    {"echo", 2, kF, EchoPrepare, nullptr, {}},
    {"exists", -2, kR | kF, nullptr, ExistsRead, {}, 1, -1, 1},
    {"expire", -3, kW | kF, ExpirePrepare, nullptr, {}, 1, 1, 1},
    {"expireat", -3, kW | kF, ExpireAtPrepare, nullptr, {}, 1, 1, 1},
    {"flushall", -1, kW | kCmdAdmin, FlushAllPrepare, nullptr, {}},
    {"flushdb", -1, kW, FlushAllPrepare, nullptr, {}},  // one database: FLUSHALL
    {"get", 2, kR | kF, nullptr, GetRead, {}, 1, 1, 1},
    {"getdel", 2, kW | kF, GetDelPrepare, nullptr, {}, 1, 1, 1},
    {"getset", 3, kW | kM | kF, GetSetPrepare, nullptr, {}, 1, 1, 1},
    {"hello", -1, kCmdNoAuth | kF, HelloPrepare, nullptr, {}},
    {"incr", 2, kW | kM | kF, IncrPrepare, nullptr, {}, 1, 1, 1},
    {"incrby", 3, kW | kM | kF, IncrByPrepare, nullptr, {}, 1, 1, 1},
    {"info", -1, 0, InfoPrepare, InfoRead, {}},
    {"keys", 2, kR, nullptr, KeysRead, {}},
    {"mget", -2, kR | kF, nullptr, MGetRead, {}, 1, -1, 1},
    {"mset", -3, kW | kM, MSetPrepare, nullptr, {}, 1, -1, 2},
    {"persist", 2, kW | kF, PersistPrepare, nullptr, {}, 1, 1, 1},
    {"pexpire", -3, kW | kF, PExpirePrepare, nullptr, {}, 1, 1, 1},
    {"pexpireat", -3, kW | kF, PExpireAtPrepare, nullptr, {}, 1, 1, 1},
    {"ping", -1, kF | kCmdPubSubContext, PingPrepare, nullptr, {}},
    {"psetex", 4, kW | kM, PSetExPrepare, nullptr, {}, 1, 1, 1},
    {"pttl", 2, kR | kF, nullptr, PttlRead, {}, 1, 1, 1},
    {"quit", -1, kCmdNoAuth | kCmdNoQueue | kCmdPubSubContext | kF, QuitPrepare, nullptr, {}},
    {"readonly", 1, kF, ReadOnlyPrepare, nullptr, {}},
    {"readwrite", 1, kF, ReadWritePrepare, nullptr, {}},
    {"role", 1, kF, RolePrepare, nullptr, {}},
    {"scan", -2, kR, ScanPrepare, ScanRead, {}},
    {"select", 2, kF, SelectPrepare, nullptr, {}},
    {"set", -3, kW | kM, SetPrepare, nullptr, {}, 1, 1, 1},
    {"setex", 4, kW | kM, SetExPrepare, nullptr, {}, 1, 1, 1},
    {"setnx", 3, kW | kM | kF, SetNxPrepare, nullptr, {}, 1, 1, 1},
    {"strlen", 2, kR | kF, nullptr, StrLenRead, {}, 1, 1, 1},
    {"touch", -2, kR | kF, nullptr, ExistsRead, {}, 1, -1, 1},  // no LRU: counts as EXISTS
    {"ttl", 2, kR | kF, nullptr, TtlRead, {}, 1, 1, 1},
    {"type", 2, kR | kF, nullptr, TypeRead, {}, 1, 1, 1},
    {"unlink", -2, kW | kF, DelPrepare, nullptr, {}, 1, -1, 1},  // DEL: frees at once
};

// Lower-cases name into buf (names are short); false if too long to be one.
bool LowerName(std::string_view name, char (&buf)[32], std::string_view* lower) {
  if (name.size() > sizeof(buf)) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  }
  *lower = std::string_view(buf, name.size());
  return true;
}

const CommandSpec* LookupSubcommand(const CommandSpec& parent, std::string_view name) {
  for (const CommandSpec& sub : parent.subcommands) {
    std::string_view short_name = sub.name.substr(sub.name.find('|') + 1);
    if (EqualsIgnoreCase(short_name, name)) return &sub;
  }
  return nullptr;
}

bool ArityOk(const CommandSpec& spec, size_t argc) {
  if (spec.arity > 0) return argc == static_cast<size_t>(spec.arity);
  return argc >= static_cast<size_t>(-spec.arity);
}

// Same order of checks as Redis's processCommand: unknown, arity, auth,
// memory. The (sub)command, or null with *error.
const CommandSpec* CheckCommand(std::span<const std::string_view> args,
                                const ClientSession& session, const CommandContext& context,
                                std::string* error) {
  const CommandSpec* spec = LookupCommand(args[0]);
  if (spec == nullptr) {
    *error = UnknownCommandError(args);
    return nullptr;
  }
  if (!spec->subcommands.empty() && args.size() >= 2) {
    const CommandSpec* sub = LookupSubcommand(*spec, args[1]);
    if (sub == nullptr) {
      *error = fmt::format("ERR unknown subcommand '{}'. Try {} HELP.", args[1].substr(0, 128),
                           Upper(spec->name));
      return nullptr;
    }
    spec = sub;
  } else if (!spec->subcommands.empty() && spec->prepare == nullptr) {
    *error = WrongArityError(spec->name);
    return nullptr;
  }
  if (!ArityOk(*spec, args.size())) {
    *error = WrongArityError(spec->name);
    return nullptr;
  }
  if (!context.config->requirepass.empty() && !session.authenticated &&
      !(spec->flags & kCmdNoAuth)) {
    *error = kErrNoAuth;
    return nullptr;
  }
  // Decided by the leader alone, before it proposes (a follower forwards
  // the write; its own copy may lag): apply never looks at memory, so no two
  // members can decide differently.
  if ((spec->flags & kCmdDenyOom) && context.config->max_memory_bytes != 0 &&
      context.info->role == "leader" &&
      context.used_memory_bytes > context.config->max_memory_bytes) {
    *error = kErrOom;
    return nullptr;
  }
  return spec;
}

// Inside MULTI: a command that passed its checks waits for EXEC. The queue is
// bounded (one transaction is one log entry).
void QueueCommand(std::span<const std::string_view> args, ClientSession& session,
                  std::string* out) {
  size_t bytes = 0;
  for (std::string_view a : args) bytes += a.size() + 16;
  ReplyWriter w(out);
  if (session.queued.size() >= kMaxQueuedCommands ||
      session.queued_bytes + bytes > kMaxQueuedBytes) {
    session.multi_dirty = true;
    return w.Error(kErrTooManyQueued);
  }
  session.queued.emplace_back(args.begin(), args.end());
  session.queued_bytes += bytes;
  w.SimpleString("QUEUED");
}

}  // namespace

std::span<const CommandSpec> AllCommands() {
  // The base table and every group's, sorted by name (COMMAND lists them so).
  static const std::vector<CommandSpec>* all = [] {
    auto* v = new std::vector<CommandSpec>(std::begin(kCommands), std::end(kCommands));
    for (auto group :
         {HashCommands(), SetCommands(), KeyspaceCommands(), ListCommands(), ZsetCommands(),
          TransactionCommands(), BlockingCommands(), PubSubCommands()}) {
      v->insert(v->end(), group.begin(), group.end());
    }
    std::sort(v->begin(), v->end(),
              [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; });
    for (size_t i = 1; i < v->size(); ++i) {
      NINES_CHECK((*v)[i - 1].name != (*v)[i].name, "a command is defined twice");
    }
    return v;
  }();
  return *all;
}

const CommandSpec* LookupCommand(std::string_view name) {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static const auto* index = [] {
    auto* map = new std::unordered_map<std::string, const CommandSpec*, Hash, std::equal_to<>>();
    for (const CommandSpec& spec : AllCommands()) map->emplace(std::string(spec.name), &spec);
    return map;
  }();
  char buf[32];
  std::string_view lower;
  if (!LowerName(name, buf, &lower)) return nullptr;
  auto it = index->find(lower);
  return it == index->end() ? nullptr : it->second;
}

ApplyFunction LookupApplyFunction(std::string_view name) {
  const CommandSpec* spec = LookupCommand(name);
  return spec == nullptr ? nullptr : spec->apply;
}

std::string WrongArityError(std::string_view full_name) {
  return fmt::format("ERR wrong number of arguments for '{}' command", full_name);
}

std::string SubscribedContextError(std::string_view full_name) {
  return fmt::format(
      "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
      "allowed in this context",
      full_name);
}

std::string UnknownCommandError(std::span<const std::string_view> args) {
  // As Redis: each argument quoted and followed by a space, until 128 bytes.
  std::string list;
  for (size_t i = 1; i < args.size() && list.size() < 128; ++i) {
    size_t room = 128 - list.size();
    list += fmt::format("'{}' ", args[i].substr(0, room));
  }
  return fmt::format("ERR unknown command '{}', with args beginning with: {}",
                     args[0].substr(0, 128), list);
}

void PrepareCommand(std::span<const std::string_view> args, ClientSession& session,
                    const CommandContext& context, CommandPlan* plan, std::string* out) {
  NINES_CHECK(!args.empty(), "a command has a name");
  NINES_CHECK(context.config != nullptr && context.info != nullptr,
              "a command context has a config and info");
  plan->kind = PlanKind::kReply;
  plan->spec = nullptr;
  plan->linearizable = true;
  plan->reply = WriteReply::kDirect;
  plan->type_matches = true;
  plan->scan_by_type = false;
  plan->block = false;
  plan->block_timeout_ms = 0;
  ReplyWriter w(out);

  std::string error;
  const CommandSpec* spec = CheckCommand(args, session, context, &error);
  if (spec == nullptr) {
    // As Redis's rejectCommand: a rejected command inside MULTI fails the EXEC.
    if (session.in_multi) session.multi_dirty = true;
    return w.Error(error);
  }
  // As Redis's processCommand: a subscribed RESP2 client runs only the
  // Pub/Sub commands, PING and QUIT; then MULTI's own refusals.
  if (session.pubsub_subscriptions > 0 && !(spec->flags & kCmdPubSubContext)) {
    return w.Error(SubscribedContextError(spec->name));
  }
  if (session.in_multi && (spec->flags & kCmdNoMulti)) {
    session.multi_dirty = true;
    return w.Error(kErrNotInMulti);
  }
  if (session.in_multi && !(spec->flags & kCmdNoQueue)) return QueueCommand(args, session, out);
  plan->spec = spec;
  CommandCall call{args, session, context, *plan, out};
  if (spec->prepare != nullptr) {
    spec->prepare(call);
  } else {
    plan->kind = PlanKind::kRead;  // a plain read: nothing to check beyond arity
  }
  if (plan->kind == PlanKind::kRead && session.stale_reads) plan->linearizable = false;
}

void ExecuteRead(const CommandPlan& plan, std::span<const std::string_view> args,
                 const CommandContext& context, const KvState& state, std::string* out) {
  NINES_CHECK(plan.kind == PlanKind::kRead && plan.spec != nullptr && plan.spec->read != nullptr,
              "only a read plan is executed as a read");
  plan.spec->read(ReadCall{args, context, plan, out}, state);
}

void FormatWriteReply(const CommandPlan& plan, const KvResult& result, std::string* out) {
  NINES_CHECK(plan.kind == PlanKind::kWrite, "only a write plan gets a write reply");
  FormatResult(plan.reply, result, out);
}

void FormatResult(WriteReply reply, const KvResult& result, std::string* out) {
  ReplyWriter w(out);
  if (reply == WriteReply::kOkNilAsInteger) {
    if (result.type == KvResult::Type::kOk) return w.Integer(1);
    if (result.type == KvResult::Type::kNil) return w.Integer(0);
  }
  switch (result.type) {
    case KvResult::Type::kOk:
      return w.SimpleString("OK");
    case KvResult::Type::kNil:
      return w.NullBulk();
    case KvResult::Type::kInteger:
      return w.Integer(result.integer);
    case KvResult::Type::kBulk:
      return w.Bulk(result.bulk);
    case KvResult::Type::kError:
      return w.Error(result.bulk);
    case KvResult::Type::kRaw:
      return w.Raw(result.bulk);
  }
}

}  // namespace nines::store
