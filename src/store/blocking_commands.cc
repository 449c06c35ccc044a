// The blocking pops (see blocking_commands.h). The order of checks follows
// Redis 7.0 (t_list.c blockingPopGenericCommand / blmoveGenericCommand,
// t_zset.c blockingGenericZpopCommand): BLMOVE's LEFT/RIGHT, then the
// timeout, then the keys in order (WRONGTYPE on the first key of another type
// met before a non-empty one).
#include "store/blocking_commands.h"

#include <cmath>
#include <limits>

#include "store/command_args.h"
#include "store/command_groups.h"
#include "store/list_commands.h"
#include "store/resp_writer.h"
#include "store/zset_commands.h"

namespace nines::store {

Status ParseBlockTimeout(std::string_view text, int64_t* timeout_ms) {
  long double seconds = 0;
  if (!ParseRedisLongDouble(text, &seconds)) {
    return Status::InvalidArgument(std::string(kErrTimeoutNotFloat));
  }
  const long double rounded = std::ceil(seconds * 1000.0L);
  // Redis 7.0 converts a timeout too large for a long long to a negative
  // one (x86's conversion of an out-of-range value), so it answers
  // "negative" for 1e300 and inf; the same here, without the undefined cast.
  if (rounded < 0 || rounded >= static_cast<long double>(std::numeric_limits<int64_t>::max())) {
    return Status::InvalidArgument(std::string(kErrTimeoutNegative));
  }
  *timeout_ms = static_cast<int64_t>(rounded);
  return Status::Ok();
}

namespace {

bool IsMove(std::string_view name) {
  return name == "blmove" || name == "brpoplpush";
}

KvResult Error(std::string_view text) {
  return KvResult::Error(std::string(text));
}

bool ParseEnd(std::string_view text) {
  return EqualsIgnoreCase(text, "left") || EqualsIgnoreCase(text, "right");
}

// BLPOP / BRPOP key... timeout: [key, value] from the first non-empty list.
KvResult BlockingListPopApply(KvWriter& w, std::span<const std::string_view> args) {
  int64_t timeout_ms = 0;
  if (Status s = ParseBlockTimeout(args.back(), &timeout_ms); !s.ok()) {
    return KvResult::Error(s.message());
  }
  const std::string_view pop = args[0] == "blpop" ? "lpop" : "rpop";
  for (size_t i = 1; i + 1 < args.size(); ++i) {
    bool wrong_type = false;
    if (w.FindTyped(args[i], ValueType::kList, &wrong_type) == nullptr) {
      if (wrong_type) return Error(kErrWrongType);
      continue;
    }
    const std::string_view pop_args[] = {pop, args[i]};
    KvResult popped = ListPopApply(w, pop_args);
    std::string out;
    resp::ReplyWriter reply(&out);
    reply.ArrayHeader(2);
    reply.Bulk(args[i]);
    reply.Bulk(popped.bulk);
    return KvResult::Raw(std::move(out));
  }
  return KvResult::Raw(std::string(kBlockTimeoutReply));
}

// BZPOPMIN / BZPOPMAX key... timeout: [key, member, score].
KvResult BlockingZPopApply(KvWriter& w, std::span<const std::string_view> args) {
  int64_t timeout_ms = 0;
  if (Status s = ParseBlockTimeout(args.back(), &timeout_ms); !s.ok()) {
    return KvResult::Error(s.message());
  }
  const std::string_view pop = args[0] == "bzpopmin" ? "zpopmin" : "zpopmax";
  for (size_t i = 1; i + 1 < args.size(); ++i) {
    bool wrong_type = false;
    if (w.FindTyped(args[i], ValueType::kZset, &wrong_type) == nullptr) {
      if (wrong_type) return Error(kErrWrongType);
      continue;
    }
    const std::string_view pop_args[] = {pop, args[i]};
    KvResult popped = ZPopApply(w, pop_args);  // "*2\r\n" member score
    std::string out;
    resp::ReplyWriter reply(&out);
    reply.ArrayHeader(3);
    reply.Bulk(args[i]);
    out += std::string_view(popped.bulk).substr(4);
    return KvResult::Raw(std::move(out));
  }
  return KvResult::Raw(std::string(kBlockTimeoutReply));
}

// BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout / BRPOPLPUSH src dst timeout.
KvResult BlockingMoveApply(KvWriter& w, std::span<const std::string_view> args) {
  const bool blmove = args[0] == "blmove";
  if (blmove && (!ParseEnd(args[3]) || !ParseEnd(args[4]))) return Error(kErrSyntax);
  int64_t timeout_ms = 0;
  if (Status s = ParseBlockTimeout(args.back(), &timeout_ms); !s.ok()) {
    return KvResult::Error(s.message());
  }
  if (blmove) {
    const std::string_view move[] = {"lmove", args[1], args[2], args[3], args[4]};
    return LMoveApply(w, move);
  }
  const std::string_view move[] = {"rpoplpush", args[1], args[2]};
  return LMoveApply(w, move);
}

// Checks what Redis checks before it looks at the keys, then proposes.
void BlockingPrepare(CommandCall& call) {
  const std::string_view name = call.plan.spec->name;
  if (name == "blmove" && (!ParseEnd(call.args[3]) || !ParseEnd(call.args[4]))) {
    resp::ReplyWriter(call.out).Error(kErrSyntax);
    call.plan.kind = PlanKind::kReply;
    return;
  }
  int64_t timeout_ms = 0;
  if (Status s = ParseBlockTimeout(call.args.back(), &timeout_ms); !s.ok()) {
    resp::ReplyWriter(call.out).Error(s.message());
    call.plan.kind = PlanKind::kReply;
    return;
  }
  ProposeAsCommand(call);
  if (call.plan.kind != PlanKind::kWrite) return;
  call.plan.block = true;
  call.plan.block_timeout_ms = timeout_ms;
}

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kM = kCmdDenyOom;

const CommandSpec kBlockingCommands[] = {
    {"blmove", 6, kW | kM, BlockingPrepare, nullptr, {}, 1, 2, 1, BlockingMoveApply},
    {"blpop", -3, kW, BlockingPrepare, nullptr, {}, 1, -2, 1, BlockingListPopApply},
    {"brpop", -3, kW, BlockingPrepare, nullptr, {}, 1, -2, 1, BlockingListPopApply},
    {"brpoplpush", 4, kW | kM, BlockingPrepare, nullptr, {}, 1, 2, 1, BlockingMoveApply},
    {"bzpopmax", -3, kW | kCmdFast, BlockingPrepare, nullptr, {}, 1, -2, 1, BlockingZPopApply},
    {"bzpopmin", -3, kW | kCmdFast, BlockingPrepare, nullptr, {}, 1, -2, 1, BlockingZPopApply},
};

}  // namespace

std::span<const CommandSpec> BlockingCommands() {
  return kBlockingCommands;
}

std::vector<std::string> BlockedKeys(std::span<const std::string> args) {
  if (IsMove(args[0]) || EqualsIgnoreCase(args[0], "blmove") ||
      EqualsIgnoreCase(args[0], "brpoplpush")) {
    return {args[1]};
  }
  return {args.begin() + 1, args.end() - 1};
}

ValueType BlockedType(std::string_view name) {
  return EqualsIgnoreCase(name, "bzpopmin") || EqualsIgnoreCase(name, "bzpopmax")
             ? ValueType::kZset
             : ValueType::kList;
}

std::vector<std::string> PopFromKeyArgs(std::span<const std::string> args, const std::string& key) {
  if (EqualsIgnoreCase(args[0], "blmove") || EqualsIgnoreCase(args[0], "brpoplpush")) {
    std::vector<std::string> out(args.begin(), args.end() - 1);
    out.emplace_back("0");  // (assigning "0" to back() trips GCC 12's -Wrestrict)
    return out;
  }
  return {args[0], key, "0"};
}

bool PoppedNothing(const KvResult& result) {
  return result.type == KvResult::Type::kNil ||
         (result.type == KvResult::Type::kRaw && result.bulk == kBlockTimeoutReply);
}

}  // namespace nines::store
