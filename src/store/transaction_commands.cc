// MULTI/EXEC/DISCARD/WATCH/UNWATCH and the internal NINES.EXEC and
// NINES.WATCHPOINT; see transaction_commands.h. The log entry and its apply
// are in transaction.h and KvState::ApplyExec.
#include "store/transaction_commands.h"

#include <charconv>

#include "store/command_args.h"
#include "store/command_groups.h"
#include "store/kv_command.h"
#include "store/resp_writer.h"
#include "store/transaction.h"

namespace nines::store {
namespace {

using resp::ReplyWriter;

void ReplyError(CommandCall& call, std::string_view text) {
  ReplyWriter(call.out).Error(text);
  call.plan.kind = PlanKind::kReply;
}

void ReplyOk(CommandCall& call) {
  ReplyWriter(call.out).SimpleString("OK");
  call.plan.kind = PlanKind::kReply;
}

void MultiPrepare(CommandCall& call) {
  // Not a failed check: the transaction goes on (as Redis 7.0).
  if (call.session.in_multi) return ReplyError(call, "ERR MULTI calls can not be nested");
  call.session.in_multi = true;
  call.session.multi_dirty = false;
  call.session.queued.clear();
  call.session.queued_bytes = 0;
  ReplyOk(call);
}

void ExecPrepare(CommandCall& call) {
  if (!call.session.in_multi) return ReplyError(call, "ERR EXEC without MULTI");
  if (call.session.multi_dirty) {
    DiscardTransaction(call.session);
    return ReplyError(call, kErrExecAbort);
  }
  call.plan.kind = PlanKind::kExec;
}

void DiscardPrepare(CommandCall& call) {
  if (!call.session.in_multi) return ReplyError(call, "ERR DISCARD without MULTI");
  DiscardTransaction(call.session);
  ReplyOk(call);
}

void WatchPrepare(CommandCall& call) {
  if (call.session.in_multi) return ReplyError(call, "ERR WATCH inside MULTI is not allowed");
  call.plan.kind = PlanKind::kWatch;
}

void UnwatchPrepare(CommandCall& call) {
  call.session.watched.reset();
  ReplyOk(call);
}

void WatchPointRead(const ReadCall& call, const KvState& state) {
  ReplyWriter w(call.out);
  w.ArrayHeader(2);
  w.Integer(static_cast<int64_t>(state.applied_index()));
  w.Integer(call.context.now_ms);
}

// The leader's half of EXEC: every queued command is prepared (again) here,
// and what touches the state becomes an item of one kExec entry.
void ExecRequestPrepare(CommandCall& call) {
  std::vector<TxWatch> watches;
  if (!DecodeTxWatches(call.args[1], &watches)) {
    return ReplyError(call, "ERR nines.exec: malformed watches");
  }
  std::vector<std::string> items;
  items.reserve(call.args.size() - 2);
  std::vector<std::string_view> sub_args;
  for (size_t i = 2; i < call.args.size(); ++i) {
    TxItemKind kind;
    std::string_view rest;
    if (!SplitTxItem(call.args[i], &kind, &rest)) {
      return ReplyError(call, "ERR nines.exec: malformed item");
    }
    if (kind == TxItemKind::kLiteral) {
      items.emplace_back(call.args[i]);
      continue;
    }
    if (kind != TxItemKind::kCommand || !DecodeTxArgs(rest, &sub_args)) {
      return ReplyError(call, "ERR nines.exec: malformed item");
    }
    ClientSession session;
    session.authenticated = true;
    CommandPlan plan;
    std::string out;
    PrepareCommand(sub_args, session, call.context, &plan, &out);
    switch (plan.kind) {
      case PlanKind::kReply:
        items.push_back(EncodeTxBytes(TxItemKind::kLiteral, out));
        break;
      case PlanKind::kRead:
        items.push_back(EncodeTxArgs(TxItemKind::kRead, sub_args));
        break;
      case PlanKind::kWrite: {
        std::string item(1, static_cast<char>(TxItemKind::kWrite));
        item.push_back(static_cast<char>(plan.reply));
        item.append(plan.proposal);
        items.push_back(std::move(item));
        break;
      }
      case PlanKind::kExec:
      case PlanKind::kWatch:
      case PlanKind::kPubSub:
        out.clear();
        ReplyWriter(&out).Error(kErrNotInMulti);
        items.push_back(EncodeTxBytes(TxItemKind::kLiteral, out));
        break;
    }
  }
  KvCommand command;
  command.op = KvOp::kExec;
  command.now_ms = call.context.now_ms;
  command.args.reserve(items.size() + 1);
  command.args.push_back(call.args[1]);
  for (const std::string& item : items) command.args.push_back(item);
  call.plan.kind = PlanKind::kWrite;
  call.plan.reply = WriteReply::kDirect;
  call.plan.proposal.clear();
  EncodeKvCommand(command, &call.plan.proposal);
}

constexpr uint32_t kF = kCmdFast;
constexpr uint32_t kQ = kCmdNoQueue;

const CommandSpec kTransactionCommands[] = {
    // name, arity, flags, prepare, read, subcommands, first key, last key, step
    {"discard", 1, kF | kQ, DiscardPrepare, nullptr, {}},
    {"exec", 1, kQ, ExecPrepare, nullptr, {}},
    {"multi", 1, kF | kQ, MultiPrepare, nullptr, {}},
    {"nines.exec", -2, kCmdWrite, ExecRequestPrepare, nullptr, {}},
    {"nines.watchpoint", 1, kCmdReadonly | kF, nullptr, WatchPointRead, {}},
    {"unwatch", 1, kF, UnwatchPrepare, nullptr, {}},
    {"watch", -2, kF | kQ, WatchPrepare, nullptr, {}, 1, -1, 1},
};

const CommandConfig& DefaultConfig() {
  static const CommandConfig config;
  return config;
}

const ServerInfo& DefaultInfo() {
  static const ServerInfo info;
  return info;
}

}  // namespace

std::span<const CommandSpec> TransactionCommands() {
  return kTransactionCommands;
}

void DiscardTransaction(ClientSession& session) {
  session.in_multi = false;
  session.multi_dirty = false;
  session.queued.clear();
  session.queued_bytes = 0;
  session.watched.reset();
}

std::vector<std::string> TakeTransaction(ClientSession& session, const CommandContext& context,
                                         std::shared_ptr<WatchList>* watches) {
  std::vector<std::vector<std::string>> queued = std::move(session.queued);
  *watches = std::move(session.watched);
  DiscardTransaction(session);
  std::vector<std::string> items;
  items.reserve(queued.size());
  std::vector<std::string_view> args;
  for (const std::vector<std::string>& command : queued) {
    args.assign(command.begin(), command.end());
    CommandPlan plan;
    std::string out;
    PrepareCommand(args, session, context, &plan, &out);
    if (plan.kind == PlanKind::kRead || plan.kind == PlanKind::kWrite) {
      items.push_back(EncodeTxArgs(TxItemKind::kCommand, args));
    } else {
      items.push_back(EncodeTxBytes(TxItemKind::kLiteral, out));
    }
  }
  return items;
}

std::vector<std::string> ExecRequestArgs(const WatchList* watches,
                                         const std::vector<std::string>& items) {
  std::vector<TxWatch> tx_watches;
  if (watches != nullptr) {
    for (const WatchedKey& w : *watches) tx_watches.push_back(TxWatch{w.key, w.index, w.time_ms});
  }
  std::vector<std::string> args;
  args.reserve(items.size() + 2);
  args.emplace_back(kExecCommand);
  args.emplace_back();
  EncodeTxWatches(tx_watches, &args.back());
  args.insert(args.end(), items.begin(), items.end());
  return args;
}

bool ParseWatchPoint(std::string_view reply, uint64_t* index, int64_t* time_ms) {
  auto number = [&reply](int64_t* v) {
    if (reply.empty() || reply[0] != ':') return false;
    size_t end = reply.find("\r\n");
    if (end == std::string_view::npos) return false;
    auto [p, ec] = std::from_chars(reply.data() + 1, reply.data() + end, *v);
    if (ec != std::errc() || p != reply.data() + end) return false;
    reply.remove_prefix(end + 2);
    return true;
  };
  if (reply.substr(0, 4) != "*2\r\n") return false;
  reply.remove_prefix(4);
  int64_t applied = 0;
  if (!number(&applied) || !number(time_ms) || !reply.empty() || applied < 0) return false;
  *index = static_cast<uint64_t>(applied);
  return true;
}

void AppendTransactionRead(std::span<const std::string_view> args, const KvState& state,
                           uint64_t seed, std::string* out) {
  CommandContext context;
  context.config = &DefaultConfig();
  context.info = &DefaultInfo();
  context.now_ms = state.clock_ms();
  context.used_memory_bytes = state.memory_bytes();
  ClientSession session;
  session.authenticated = true;
  CommandPlan plan;
  std::string reply;
  PrepareCommand(args, session, context, &plan, &reply);
  if (plan.kind != PlanKind::kRead) {
    out->append(reply);  // checked by the leader already: only on a malformed entry
    return;
  }
  ScopedReadSeed random(seed);
  ExecuteRead(plan, args, context, state, out);
}

void AppendTransactionWrite(uint8_t reply_kind, const KvResult& result, std::string* out) {
  FormatResult(reply_kind == static_cast<uint8_t>(WriteReply::kOkNilAsInteger)
                   ? WriteReply::kOkNilAsInteger
                   : WriteReply::kDirect,
               result, out);
}

}  // namespace nines::store
