// Compact binary encoding of Raft messages, entries, hard state and snapshot
// metadata for the peer transport and the write-ahead log. Integers are
// LEB128 varints; strings are length-prefixed. Decoders reject malformed or
// oversized input with Status::Corruption (the reason and the byte offset)
// instead of trusting the peer.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "raft/types.h"

namespace nines::raft {

inline constexpr size_t kMaxEntriesPerMessage = 1 << 16;

std::string EncodeMessage(const Message& m);
Status DecodeMessage(std::string_view in, Message* out);

std::string EncodeEntry(const Entry& e);
Status DecodeEntry(std::string_view in, Entry* out);

std::string EncodeHardState(const HardState& hs);
Status DecodeHardState(std::string_view in, HardState* out);

std::string EncodeSnapshotMeta(const SnapshotMeta& meta);
Status DecodeSnapshotMeta(std::string_view in, SnapshotMeta* out);

std::string EncodeMembership(const Membership& m);
Status DecodeMembership(std::string_view in, Membership* out);

}  // namespace nines::raft
