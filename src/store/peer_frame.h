// Frames on a peer connection. Every frame is
//   [u32 little-endian length][u8 kind][body]   (length counts kind + body)
// kMessage carries one encoded raft::Message. A snapshot never travels in one
// frame: kSnapshotStart carries the InstallSnapshot message without its data
// plus the data's total size and crc32c, then kSnapshotChunk frames carry the
// data in order, each with its offset and its own crc32c. So a snapshot of
// any size moves in frames of a bounded size.
// With a cluster secret, a connection starts with a challenge-response: the
// accepting member sends kChallenge (16 random bytes), the connecting member
// answers kAuth (HMAC-SHA256 of the challenge under the secret) before any
// other frame. The connection carries nothing else until the answer checks.
// kPublish carries one PUBLISH to the receiving member's subscribers (Pub/Sub
// goes member to member, as on Redis Cluster's bus, never through the log).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "raft/types.h"

namespace nines::store {

enum class FrameKind : uint8_t {
  kMessage = 1,
  kSnapshotStart = 2,
  kSnapshotChunk = 3,
  kChallenge = 4,
  kAuth = 5,
  kPublish = 6,
};

constexpr size_t kFrameHeaderBytes = 5;  // length + kind
constexpr size_t kChallengeBytes = 16;
constexpr size_t kAuthBytes = 32;  // HMAC-SHA256

// The kAuth body that answers `challenge` under the cluster secret.
std::string PeerAuthAnswer(std::string_view secret, std::string_view challenge);

// Appends one frame to out.
void AppendFrame(FrameKind kind, std::string_view body, std::string* out);
// Parses the frame header at the front of bytes: false if fewer than 5 bytes.
bool PeekFrame(std::string_view bytes, uint32_t* length, FrameKind* kind);

struct SnapshotStart {
  raft::Message message;  // the InstallSnapshot message, snapshot.data empty
  uint64_t total = 0;     // bytes of snapshot data that follow
  uint32_t crc = 0;       // crc32c of all of them
};
// message.snapshot.data is ignored (only its size and crc go in the frame).
std::string EncodeSnapshotStart(const raft::Message& message, uint64_t total, uint32_t crc);
// Corruption for a frame too short or without its InstallSnapshot message.
Status DecodeSnapshotStart(std::string_view body, SnapshotStart* out);

struct SnapshotChunk {
  uint64_t offset = 0;
  uint32_t crc = 0;  // crc32c of bytes
  std::string_view bytes;
};
std::string EncodeSnapshotChunk(uint64_t offset, std::string_view bytes);
// Corruption for a frame too short.
Status DecodeSnapshotChunk(std::string_view body, SnapshotChunk* out);

// kPublish body: [u32 channel length][channel][message].
std::string EncodePublish(std::string_view channel, std::string_view message);
// Corruption for a frame too short or a channel past its end.
Status DecodePublish(std::string_view body, std::string_view* channel, std::string_view* message);

}  // namespace nines::store
