// The list commands (Redis 7.0 semantics and error texts): writes are
// replicated as they came (KvOp::kCommand) and applied by the functions here
// on every member; reads run against the local state after the read barrier.
// The command table (commands.cc) lists them.
#pragma once

#include <span>
#include <string_view>

#include "store/commands.h"
#include "store/kv_state.h"

namespace nines::store {

// Writes: args[0] is the lower-case command name.
KvResult ListPushApply(KvWriter& w, std::span<const std::string_view> args);  // [LR]PUSH[X]
KvResult ListPopApply(KvWriter& w, std::span<const std::string_view> args);   // LPOP RPOP
KvResult LSetApply(KvWriter& w, std::span<const std::string_view> args);
KvResult LInsertApply(KvWriter& w, std::span<const std::string_view> args);
KvResult LRemApply(KvWriter& w, std::span<const std::string_view> args);
KvResult LTrimApply(KvWriter& w, std::span<const std::string_view> args);
KvResult LMoveApply(KvWriter& w, std::span<const std::string_view> args);  // LMOVE RPOPLPUSH

// Reads.
void LLenRead(const ReadCall& call, const KvState& state);
void LRangeRead(const ReadCall& call, const KvState& state);
void LIndexRead(const ReadCall& call, const KvState& state);
void LPosRead(const ReadCall& call, const KvState& state);

}  // namespace nines::store
