// Compact binary encoding of Raft messages, entries, hard state and snapshot
// metadata for the peer transport and the write-ahead log. Integers are
// LEB128 varints; strings are length-prefixed. Decoders reject malformed or
// oversized input with a reason instead of trusting the peer.
#pragma once

#include <string>
#include <string_view>

#include "raft/types.h"

namespace nines::raft {

inline constexpr size_t kMaxEntriesPerMessage = 1 << 16;

std::string EncodeMessage(const Message& m);
bool DecodeMessage(std::string_view in, Message* out, std::string* error);

std::string EncodeEntry(const Entry& e);
bool DecodeEntry(std::string_view in, Entry* out, std::string* error);

std::string EncodeHardState(const HardState& hs);
bool DecodeHardState(std::string_view in, HardState* out, std::string* error);

std::string EncodeSnapshotMeta(const SnapshotMeta& meta);
bool DecodeSnapshotMeta(std::string_view in, SnapshotMeta* out, std::string* error);

std::string EncodeMembership(const Membership& m);
bool DecodeMembership(std::string_view in, Membership* out, std::string* error);

}  // namespace nines::raft
