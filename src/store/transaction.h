// A MULTI/EXEC transaction as bytes. One log entry (KvOp::kExec) carries the
// watched keys and every queued command, so the whole transaction is applied
// at one log index on every member, or (a watched key changed) not at all.
//
// KvOp::kExec args: [0] the watches, [1..] one item per queued command.
//   watches: varint n, n x (length-prefixed key, fixed64 index, fixed64 time)
//     index: the applied index the WATCH was taken at; time: the log time
//     its reads judged expiry at (KvState::ModifiedSince).
//   item: a kind byte, then
//     'L' literal: the reply itself (RESP), decided before the entry (errors
//         found by the command's checks, PING, CLIENT SETNAME, ...);
//     'W' write: the WriteReply byte, then the command's encoded KvCommand;
//     'R' read: varint argc, argc x length-prefixed argument (run at apply);
//     'C' command (only in the NINES.EXEC request a member sends the leader,
//         never in the log): varint argc, arguments, still to be prepared.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nines::store {

struct TxWatch {
  std::string_view key;
  uint64_t index = 0;
  int64_t time_ms = 0;
};

enum class TxItemKind : char { kLiteral = 'L', kWrite = 'W', kRead = 'R', kCommand = 'C' };

// The null array EXEC answers when a watched key changed.
inline constexpr std::string_view kExecAborted = "*-1\r\n";

void EncodeTxWatches(std::span<const TxWatch> watches, std::string* out);
// Strict: false on truncation or trailing bytes.
bool DecodeTxWatches(std::string_view in, std::vector<TxWatch>* watches);

// An item holding arguments (kRead, kCommand).
std::string EncodeTxArgs(TxItemKind kind, std::span<const std::string_view> args);
// An item holding bytes (kLiteral: the reply; kWrite: reply byte and command).
std::string EncodeTxBytes(TxItemKind kind, std::string_view bytes);
// The kind and the rest of an item; false if empty or of no known kind.
bool SplitTxItem(std::string_view item, TxItemKind* kind, std::string_view* rest);
// The arguments of a kRead or kCommand item's rest; false if malformed or none.
bool DecodeTxArgs(std::string_view rest, std::vector<std::string_view>* args);

}  // namespace nines::store
