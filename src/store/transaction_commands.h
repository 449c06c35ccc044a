// MULTI, EXEC, DISCARD, WATCH and UNWATCH (Redis 7.0's rules and texts), and
// the two internal commands a connection turns them into:
//   NINES.EXEC <watches> <item>...   a whole transaction (transaction.h); the
//       member that serves the client sends it (to itself when it leads,
//       else forwarded to the leader like any write); the leader prepares
//       each item and proposes one KvOp::kExec entry; the reply is EXEC's.
//   NINES.WATCHPOINT                 after a read barrier: *2 :applied-index
//       :log-time, the point a WATCH is taken at (on the leader, for a
//       follower's client).
// Queueing itself is in PrepareCommand (commands.cc): inside MULTI every
// command but those flagged kCmdNoQueue is checked (name, arity, auth,
// memory) and queued.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/commands.h"

namespace nines::store {

inline constexpr std::string_view kExecCommand = "NINES.EXEC";
inline constexpr std::string_view kWatchPointCommand = "NINES.WATCHPOINT";

// EXEC on the member the client is connected to: ends the session's MULTI,
// prepares each queued command with the session (replies that need no state,
// such as errors of their arguments, PING or CLIENT SETNAME, are decided now,
// in order) and returns the items of the NINES.EXEC request; the session's
// watch list moves to *watches (it may still be filling: pending WATCHes).
std::vector<std::string> TakeTransaction(ClientSession& session, const CommandContext& context,
                                         std::shared_ptr<WatchList>* watches);
// The NINES.EXEC request for items and the watch list (null: none).
std::vector<std::string> ExecRequestArgs(const WatchList* watches,
                                         const std::vector<std::string>& items);
// Ends MULTI and drops the queue and the watches (DISCARD, EXECABORT).
void DiscardTransaction(ClientSession& session);
// Reads a NINES.WATCHPOINT reply; false if it is anything else (an error).
bool ParseWatchPoint(std::string_view reply, uint64_t* index, int64_t* time_ms);

}  // namespace nines::store
