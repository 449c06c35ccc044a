// Write commands of the state machine as bytes: what the leader proposes, the
// Raft log carries and every member applies. Decoding is strict (a malformed
// command is an error, never a guess) and views point into the encoded bytes.
//
// Layout (little-endian):
//   [0] format version (1) | [1] op | [2..10) now_ms | [10] flags |
//   [11] expire kind | [12..20) int (expire value or delta) |
//   [20..28) u64 (version for CAS, byte limit for APPEND, count for purge) |
//   varint argc | argc x (varint length, bytes)
// now_ms sits at a fixed offset so the leader can restamp it (StampTime).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace nines::store {

enum class KvOp : uint8_t {
  kSet = 1,            // args: key value; flags NX/XX/GET/KEEPTTL; optional expiry
  kDel = 2,            // args: key...
  kIncrBy = 3,         // args: key; integer: delta
  kAppend = 4,         // args: key value; number: largest allowed resulting length
  kMSet = 5,           // args: key value [key value ...]
  kExpire = 6,         // args: key; flags NX/XX/GT/LT; expiry (relative or absolute)
  kPersist = 7,        // args: key
  kGetDel = 8,         // args: key
  kFlushAll = 9,       // no args
  kCasSet = 10,        // args: key value; number: expected version (0 = must not exist)
  kCasDel = 11,        // args: key; number: expected version
  kPurgeExpired = 12,  // no args; number: most keys to remove
  // Any other write command, as the client sent it: args are the lower-case
  // name then its arguments; number: the largest string value allowed. Applied
  // by the command's ApplyFunction (kv_state.h), which parses the arguments
  // again (the same way on every member).
  kCommand = 13,
  // A MULTI/EXEC transaction: args are the watches then one item per queued
  // command (store/transaction.h); applied whole at this entry's index.
  kExec = 14,
};

// Flag bits; which are allowed depends on the op.
enum KvFlag : uint8_t {
  kFlagNx = 1,       // SET/EXPIRE: only if absent (SET) / no TTL yet (EXPIRE)
  kFlagXx = 2,       // SET/EXPIRE: only if present / has a TTL
  kFlagGet = 4,      // SET: reply with the old value
  kFlagKeepTtl = 8,  // SET: keep the existing TTL
  kFlagGt = 16,      // EXPIRE: only if the new expiry is later
  kFlagLt = 32,      // EXPIRE: only if the new expiry is earlier
};

enum class ExpireKind : uint8_t {
  kNone = 0,
  kRelativeMs = 1,  // expire_ms after the command's now
  kAbsoluteMs = 2,  // at expire_ms, Unix epoch milliseconds
};

struct KvCommand {
  KvOp op = KvOp::kSet;
  int64_t now_ms = 0;  // the leader's wall clock when proposed (Unix ms)
  uint8_t flags = 0;
  ExpireKind expire_kind = ExpireKind::kNone;
  int64_t integer = 0;  // expiry value (ms) or INCRBY delta
  uint64_t number = 0;  // CAS version, APPEND / kCommand limit or purge count
  std::vector<std::string_view> args;
};

constexpr size_t kKvCommandNowOffset = 2;

void EncodeKvCommand(const KvCommand& command, std::string* out);
// Strict: unknown version/op, flags or expiry kinds the op does not take, a
// wrong number of arguments, truncation or trailing bytes are all errors.
Status DecodeKvCommand(std::string_view encoded, KvCommand* command);
// Overwrites the timestamp of an encoded command (the leader does this when
// it proposes, so expiry follows one clock). False if encoded is too short.
bool StampTime(std::string* encoded, int64_t now_ms);

const char* KvOpName(KvOp op);

}  // namespace nines::store
