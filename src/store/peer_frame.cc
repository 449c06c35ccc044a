// Peer connection frames; see peer_frame.h.
#include "store/peer_frame.h"

#include "base/coding.h"
#include "base/secret.h"
#include "raft/codec.h"
#include "store/crc32c.h"

namespace nines::store {

void AppendFrame(FrameKind kind, std::string_view body, std::string* out) {
  uint32_t n = static_cast<uint32_t>(body.size() + 1);
  PutFixed32(out, n);
  out->push_back(static_cast<char>(kind));
  out->append(body);
}

std::string PeerAuthAnswer(std::string_view secret, std::string_view challenge) {
  // The label keeps this MAC from being valid anywhere else the secret is used.
  std::string message = "nines store peer auth v1:";
  message.append(challenge);
  return HmacSha256(secret, message);
}

bool PeekFrame(std::string_view bytes, uint32_t* length, FrameKind* kind) {
  if (bytes.size() < kFrameHeaderBytes) return false;
  *length = DecodeFixed32(bytes.data());
  *kind = static_cast<FrameKind>(bytes[4]);
  return true;
}

std::string EncodeSnapshotStart(const raft::Message& message, uint64_t total, uint32_t crc) {
  raft::Message meta;
  meta.type = message.type;
  meta.from = message.from;
  meta.to = message.to;
  meta.term = message.term;
  meta.log_term = message.log_term;
  meta.index = message.index;
  meta.commit = message.commit;
  meta.context = message.context;
  meta.snapshot.meta = message.snapshot.meta;
  std::string body;
  PutFixed64(&body, total);
  PutFixed32(&body, crc);
  body += raft::EncodeMessage(meta);
  return body;
}

Status DecodeSnapshotStart(std::string_view body, SnapshotStart* out) {
  if (body.size() < 12) return Status::Corruption("snapshot start frame too short");
  out->total = DecodeFixed64(body.data());
  out->crc = DecodeFixed32(body.data() + 8);
  if (Status s = raft::DecodeMessage(body.substr(12), &out->message); !s.ok()) return s;
  if (out->message.type != raft::MessageType::kSnapshot || !out->message.snapshot.data.empty()) {
    return Status::Corruption("snapshot start frame without an empty InstallSnapshot message");
  }
  return Status::Ok();
}

std::string EncodeSnapshotChunk(uint64_t offset, std::string_view bytes) {
  std::string body;
  body.reserve(12 + bytes.size());
  PutFixed64(&body, offset);
  PutFixed32(&body, crc32c::Value(bytes));
  body.append(bytes);
  return body;
}

Status DecodeSnapshotChunk(std::string_view body, SnapshotChunk* out) {
  if (body.size() < 12) return Status::Corruption("snapshot chunk frame too short");
  out->offset = DecodeFixed64(body.data());
  out->crc = DecodeFixed32(body.data() + 8);
  out->bytes = body.substr(12);
  return Status::Ok();
}

std::string EncodePublish(std::string_view channel, std::string_view message) {
  std::string body;
  body.reserve(4 + channel.size() + message.size());
  PutFixed32(&body, static_cast<uint32_t>(channel.size()));
  body.append(channel);
  body.append(message);
  return body;
}

Status DecodePublish(std::string_view body, std::string_view* channel, std::string_view* message) {
  if (body.size() < 4) return Status::Corruption("publish frame too short");
  const uint32_t n = DecodeFixed32(body.data());
  if (n > body.size() - 4) return Status::Corruption("publish frame's channel runs past its end");
  *channel = body.substr(4, n);
  *message = body.substr(4 + n);
  return Status::Ok();
}

}  // namespace nines::store
