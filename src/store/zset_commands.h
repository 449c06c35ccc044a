// The sorted set commands (Redis 7.0 semantics, error texts and score
// formatting): writes are replicated as they came (KvOp::kCommand) and
// applied by the functions here on every member; reads run against the local
// state after the read barrier. The command table (commands.cc) lists them.
#pragma once

#include <span>
#include <string_view>

#include "store/commands.h"
#include "store/kv_state.h"

namespace nines::store {

// Writes: args[0] is the lower-case command name.
KvResult ZAddApply(KvWriter& w, std::span<const std::string_view> args);  // ZADD ZINCRBY
KvResult ZRemApply(KvWriter& w, std::span<const std::string_view> args);
KvResult ZRemRangeApply(KvWriter& w, std::span<const std::string_view> args);  // BYRANK/SCORE/LEX
KvResult ZPopApply(KvWriter& w, std::span<const std::string_view> args);       // ZPOPMIN ZPOPMAX
KvResult ZSetOpStoreApply(KvWriter& w, std::span<const std::string_view> args);
KvResult ZRangeStoreApply(KvWriter& w, std::span<const std::string_view> args);

// Reads.
void ZCardRead(const ReadCall& call, const KvState& state);
void ZScoreRead(const ReadCall& call, const KvState& state);
void ZMScoreRead(const ReadCall& call, const KvState& state);
void ZRankRead(const ReadCall& call, const KvState& state);  // ZRANK ZREVRANK
void ZCountRead(const ReadCall& call, const KvState& state);
void ZLexCountRead(const ReadCall& call, const KvState& state);
// ZRANGE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX.
void ZRangeRead(const ReadCall& call, const KvState& state);
void ZSetOpRead(const ReadCall& call, const KvState& state);  // ZUNION ZINTER ZDIFF
void ZRandMemberRead(const ReadCall& call, const KvState& state);
void ZScanRead(const ReadCall& call, const KvState& state);

}  // namespace nines::store
