// What a store answer tells the client about its command (docs/store.md,
// "Outcome semantics a client can rely on"):
// - -TRYAGAIN (HTTP 503 with Retry-After): certainly not applied; retry.
// - -NOSPACE (HTTP 507): certainly not applied; the member's disk is (nearly)
//   full, so retrying helps only once space returns.
// - -UNKNOWN outcome unknown: ... (HTTP 504, no Retry-After): it may or may
//   not have been applied. No Redis client library retries this prefix on
//   its own (redis-py, go-redis, Jedis and hiredis retry at most TRYAGAIN,
//   MOVED, ASK, CLUSTERDOWN, LOADING, READONLY, MASTERDOWN).
// And the internal request a follower forwards a write with, so that its
// retries keep one request id (store/request_dedup.h):
//   NINES.FWD <origin member raft id> <request id> <command> <args...>
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/request_dedup.h"

namespace nines::store {

inline constexpr std::string_view kForwardCommand = "NINES.FWD";
// The most NINES.FWD and a request key add to a command's RESP encoding (a
// longer array header, the command name, two u64s): a member accepts this
// much over max_request_bytes on a forwarded write, so a command a follower
// took is not refused by the leader for the wrapping.
inline constexpr size_t kForwardedExtraBytes = 128;

std::string TryAgainError(std::string_view why);
std::string UnknownOutcomeError(std::string_view why);
// A write refused because the leader's disk is (nearly) full: never applied.
std::string NoSpaceError(std::string_view why);
// True for the errors that mean "certainly not applied, try again"
// (-TRYAGAIN, -NOSPACE): a retry of a write sent before is then unknown.
bool IsRetryableRefusal(std::string_view error);
// A write whose log entry would exceed what the WAL can hold: never applied
// (RESP "-ERR command too large ...", HTTP 413).
std::string TooLargeError(uint64_t entry_bytes, uint64_t limit);
bool IsUnknownOutcome(std::string_view error);
// HTTP status for a failed write's error text: 504 when unknown, 413 when
// too large, 507 when the disk is full, else 503.
int HttpStatusForError(std::string_view error);

// True when args is a NINES.FWD request (any case). Then, when well formed,
// *key and *command (a view of args' tail) are set; else the Status's message is the
// Redis error reply.
bool IsForwarded(const std::vector<std::string_view>& args);
Status ParseForwarded(const std::vector<std::string_view>& args, RequestKey* key,
                      std::vector<std::string_view>* command);
// Appends the RESP array of a forwarded command (key set: NINES.FWD form).
void EncodeForwarded(const RequestKey* key, const std::vector<std::string>& args, std::string* out);

}  // namespace nines::store
