// BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN and BZPOPMAX: the commands, and
// what a connection needs to block a client on the leader
// (store/blocking_waits.h). Each is proposed like any write; its apply is the
// non-blocking pop (what Redis does inside MULTI): the popped value, or
// nothing (the nil array; BLMOVE and BRPOPLPUSH: nil). Finding nothing, the
// leader blocks the client and proposes the pop again, for the key that got
// a value, when one does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/commands.h"
#include "store/kv_state.h"

namespace nines::store {

inline constexpr std::string_view kErrTimeoutNegative = "ERR timeout is negative";
inline constexpr std::string_view kErrTimeoutNotFloat =
    "ERR timeout is not a float or out of range";

// Redis's getTimeoutFromObjectOrReply in seconds: a float, rounded up to
// milliseconds; 0 means forever. InvalidArgument carrying Redis 7.0's error
// text (one too large for a 64-bit count of milliseconds is "negative", as there).
Status ParseBlockTimeout(std::string_view text, int64_t* timeout_ms);

// The keys a blocking command (args as sent) waits on, and their type.
std::vector<std::string> BlockedKeys(std::span<const std::string> args);
ValueType BlockedType(std::string_view name);
// The command popping from `key` alone (one of BlockedKeys), timeout 0.
std::vector<std::string> PopFromKeyArgs(std::span<const std::string> args, const std::string& key);
// True when a blocking command's result says nothing was popped.
bool PoppedNothing(const KvResult& result);
// The reply to a client whose timeout passed.
inline constexpr std::string_view kBlockTimeoutReply = "*-1\r\n";

}  // namespace nines::store
