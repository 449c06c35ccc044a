// Encoding and strict decoding of state machine commands.
#include "store/kv_command.h"

#include <fmt/format.h>

#include "base/coding.h"

namespace nines::store {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr size_t kFixedSize = 28;
constexpr uint64_t kMaxArgs = 1 << 24;

struct OpRule {
  uint8_t allowed_flags;
  bool expiry_allowed;
  uint64_t min_args;
  uint64_t max_args;
  bool pairs;  // argc must be even
};

bool RuleFor(KvOp op, OpRule* rule) {
  switch (op) {
    case KvOp::kSet:
      *rule = {kFlagNx | kFlagXx | kFlagGet | kFlagKeepTtl, true, 2, 2, false};
      return true;
    case KvOp::kDel:
      *rule = {0, false, 1, kMaxArgs, false};
      return true;
    case KvOp::kIncrBy:
      *rule = {0, false, 1, 1, false};
      return true;
    case KvOp::kAppend:
      *rule = {0, false, 2, 2, false};
      return true;
    case KvOp::kMSet:
      *rule = {0, false, 2, kMaxArgs, true};
      return true;
    case KvOp::kExpire:
      *rule = {kFlagNx | kFlagXx | kFlagGt | kFlagLt, true, 1, 1, false};
      return true;
    case KvOp::kPersist:
    case KvOp::kGetDel:
      *rule = {0, false, 1, 1, false};
      return true;
    case KvOp::kFlushAll:
      *rule = {0, false, 0, 0, false};
      return true;
    case KvOp::kCasSet:
      *rule = {0, false, 2, 2, false};
      return true;
    case KvOp::kCasDel:
      *rule = {0, false, 1, 1, false};
      return true;
    case KvOp::kPurgeExpired:
      *rule = {0, false, 0, 0, false};
      return true;
    case KvOp::kCommand:
    case KvOp::kExec:
      *rule = {0, false, 1, kMaxArgs, false};
      return true;
  }
  return false;
}

}  // namespace

const char* KvOpName(KvOp op) {
  switch (op) {
    case KvOp::kSet:
      return "set";
    case KvOp::kDel:
      return "del";
    case KvOp::kIncrBy:
      return "incrby";
    case KvOp::kAppend:
      return "append";
    case KvOp::kMSet:
      return "mset";
    case KvOp::kExpire:
      return "expire";
    case KvOp::kPersist:
      return "persist";
    case KvOp::kGetDel:
      return "getdel";
    case KvOp::kFlushAll:
      return "flushall";
    case KvOp::kCasSet:
      return "cas-set";
    case KvOp::kCasDel:
      return "cas-del";
    case KvOp::kPurgeExpired:
      return "purge-expired";
    case KvOp::kCommand:
      return "command";
    case KvOp::kExec:
      return "exec";
  }
  return "unknown";
}

void EncodeKvCommand(const KvCommand& command, std::string* out) {
  size_t payload = 0;
  for (std::string_view arg : command.args) payload += arg.size() + 5;
  out->reserve(out->size() + kFixedSize + 5 + payload);
  out->push_back(static_cast<char>(kFormatVersion));
  out->push_back(static_cast<char>(command.op));
  PutFixed64(out, static_cast<uint64_t>(command.now_ms));
  out->push_back(static_cast<char>(command.flags));
  out->push_back(static_cast<char>(command.expire_kind));
  PutFixed64(out, static_cast<uint64_t>(command.integer));
  PutFixed64(out, command.number);
  PutVarint64(out, command.args.size());
  for (std::string_view arg : command.args) PutLengthPrefixed(out, arg);
}

Status DecodeKvCommand(std::string_view encoded, KvCommand* command) {
  auto bad = [](std::string_view why) {
    return Status::InvalidArgument(fmt::format("malformed command: {}", why));
  };
  if (encoded.size() < kFixedSize + 1) return bad("too short");
  if (static_cast<uint8_t>(encoded[0]) != kFormatVersion) {
    return bad(fmt::format("unknown format version {}", static_cast<uint8_t>(encoded[0])));
  }
  auto op = static_cast<KvOp>(static_cast<uint8_t>(encoded[1]));
  OpRule rule;
  if (!RuleFor(op, &rule)) return bad(fmt::format("unknown op {}", static_cast<int>(op)));
  command->op = op;
  command->now_ms = static_cast<int64_t>(DecodeFixed64(encoded.data() + 2));
  command->flags = static_cast<uint8_t>(encoded[10]);
  if ((command->flags & ~rule.allowed_flags) != 0) {
    return bad(fmt::format("flags {:#x} not allowed for {}", command->flags, KvOpName(op)));
  }
  auto kind = static_cast<uint8_t>(encoded[11]);
  if (kind > static_cast<uint8_t>(ExpireKind::kAbsoluteMs) || (kind != 0 && !rule.expiry_allowed)) {
    return bad(fmt::format("expiry kind {} not allowed for {}", kind, KvOpName(op)));
  }
  command->expire_kind = static_cast<ExpireKind>(kind);
  if (op == KvOp::kExpire && command->expire_kind == ExpireKind::kNone) {
    return bad("expire without an expiry");
  }
  command->integer = static_cast<int64_t>(DecodeFixed64(encoded.data() + 12));
  command->number = DecodeFixed64(encoded.data() + 20);
  Decoder decoder(encoded.substr(kFixedSize));
  uint64_t argc = 0;
  if (!decoder.GetVarint64(&argc)) return bad("bad argument count");
  if (argc < rule.min_args || argc > rule.max_args || (rule.pairs && argc % 2 != 0)) {
    return bad(fmt::format("{} arguments for {}", argc, KvOpName(op)));
  }
  if (argc > decoder.remaining()) return bad("argument count exceeds the data");
  command->args.clear();
  command->args.reserve(static_cast<size_t>(argc));
  for (uint64_t i = 0; i < argc; ++i) {
    std::string_view arg;
    if (!decoder.GetLengthPrefixed(&arg)) return bad(fmt::format("argument {} truncated", i));
    command->args.push_back(arg);
  }
  if (!decoder.done()) return bad("trailing bytes");
  return Status::Ok();
}

bool StampTime(std::string* encoded, int64_t now_ms) {
  if (encoded->size() < kFixedSize) return false;
  EncodeFixed64(encoded->data() + kKvCommandNowOffset, static_cast<uint64_t>(now_ms));
  return true;
}

}  // namespace nines::store
