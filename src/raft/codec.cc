// Varint codec for the Raft wire and disk formats, with strict validation.
#include "raft/codec.h"

#include <algorithm>

#include "base/coding.h"
#include "raft/membership.h"

namespace nines::raft {
namespace {

constexpr uint8_t kMessageVersion = 1;

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool Fail(const char* what) {
    if (ok_) error_ = std::string(what) + " at byte " + std::to_string(pos_);
    ok_ = false;
    return false;
  }
  Status Corrupt(const char* what) {
    Fail(what);
    return status();
  }
  // Corruption with the first failure's reason, or Ok.
  Status status() const { return ok_ ? Status::Ok() : Status::Corruption(error_); }
  bool ok() const { return ok_; }
  size_t remaining() const { return in_.size() - pos_; }

  bool Varint(uint64_t* v) {
    if (!ok_) return false;
    if (const char* why = GetVarint64(in_, &pos_, v)) return Fail(why);
    return true;
  }
  bool Byte(uint8_t* v) {
    if (!ok_) return false;
    if (pos_ >= in_.size()) return Fail("truncated byte");
    *v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool Bool(bool* v) {
    uint8_t b;
    if (!Byte(&b)) return false;
    if (b > 1) return Fail("bad boolean");
    *v = b == 1;
    return true;
  }
  bool Bytes(std::string* s) {
    uint64_t n;
    if (!Varint(&n)) return false;
    if (n > remaining()) return Fail("string longer than input");
    s->assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool End() {
    if (!ok_) return false;
    if (pos_ != in_.size()) return Fail("trailing bytes");
    return true;
  }

 private:
  std::string_view in_;
  std::string error_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void PutIds(std::string* out, const std::vector<NodeId>& ids) {
  PutVarint64(out, ids.size());
  for (NodeId id : ids) PutVarint64(out, id);
}

bool ReadIds(Reader& r, std::vector<NodeId>* ids) {
  uint64_t n;
  if (!r.Varint(&n)) return false;
  if (n > kMaxMembers) return r.Fail("too many members");
  ids->clear();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id;
    if (!r.Varint(&id)) return false;
    if (id == kNoNode) return r.Fail("member id 0");
    if (!ids->empty() && id <= ids->back()) return r.Fail("member ids not sorted and unique");
    ids->push_back(id);
  }
  return true;
}

void PutMembership(std::string* out, const Membership& m) {
  PutIds(out, m.voters);
  PutIds(out, m.learners);
}

bool ReadMembership(Reader& r, Membership* m) {
  if (!ReadIds(r, &m->voters) || !ReadIds(r, &m->learners)) return false;
  for (NodeId id : m->learners) {
    if (std::binary_search(m->voters.begin(), m->voters.end(), id)) {
      return r.Fail("node is both voter and learner");
    }
  }
  if (m->voters.size() + m->learners.size() > kMaxMembers) return r.Fail("too many members");
  return true;
}

void PutEntry(std::string* out, const Entry& e) {
  PutVarint64(out, e.term);
  PutVarint64(out, e.index);
  out->push_back(static_cast<char>(e.type));
  PutLengthPrefixed(out, e.data);
}

bool ReadEntry(Reader& r, Entry* e) {
  uint8_t type;
  if (!r.Varint(&e->term) || !r.Varint(&e->index) || !r.Byte(&type) || !r.Bytes(&e->data)) {
    return false;
  }
  if (type > static_cast<uint8_t>(EntryType::kConfig)) return r.Fail("bad entry type");
  e->type = static_cast<EntryType>(type);
  if (e->type == EntryType::kConfig) {
    Membership m;
    if (!DecodeMembership(e->data, &m).ok()) return r.Fail("bad configuration entry");
  }
  return true;
}

void PutSnapshotMeta(std::string* out, const SnapshotMeta& meta) {
  PutVarint64(out, meta.index);
  PutVarint64(out, meta.term);
  PutMembership(out, meta.membership);
}

bool ReadSnapshotMeta(Reader& r, SnapshotMeta* meta) {
  return r.Varint(&meta->index) && r.Varint(&meta->term) && ReadMembership(r, &meta->membership);
}

}  // namespace

std::string EncodeMessage(const Message& m) {
  std::string out;
  out.push_back(static_cast<char>(kMessageVersion));
  out.push_back(static_cast<char>(m.type));
  PutVarint64(&out, m.from);
  PutVarint64(&out, m.to);
  PutVarint64(&out, m.term);
  PutVarint64(&out, m.log_term);
  PutVarint64(&out, m.index);
  PutVarint64(&out, m.commit);
  out.push_back(m.reject ? 1 : 0);
  PutVarint64(&out, m.reject_hint);
  PutLengthPrefixed(&out, m.context);
  PutVarint64(&out, m.entries.size());
  for (const Entry& e : m.entries) PutEntry(&out, e);
  bool has_snapshot = m.type == MessageType::kSnapshot;
  out.push_back(has_snapshot ? 1 : 0);
  if (has_snapshot) {
    PutSnapshotMeta(&out, m.snapshot.meta);
    PutLengthPrefixed(&out, m.snapshot.data);
  }
  return out;
}

Status DecodeMessage(std::string_view in, Message* out) {
  Reader r(in);
  Message m;
  uint8_t version, type;
  if (!r.Byte(&version)) return r.status();
  if (version != kMessageVersion) return r.Corrupt("unknown message version");
  if (!r.Byte(&type)) return r.status();
  if (type > kMaxMessageType) return r.Corrupt("unknown message type");
  m.type = static_cast<MessageType>(type);
  uint64_t n_entries = 0;
  if (!r.Varint(&m.from) || !r.Varint(&m.to) || !r.Varint(&m.term) || !r.Varint(&m.log_term) ||
      !r.Varint(&m.index) || !r.Varint(&m.commit) || !r.Bool(&m.reject) ||
      !r.Varint(&m.reject_hint) || !r.Bytes(&m.context) || !r.Varint(&n_entries)) {
    return r.status();
  }
  if (m.from == kNoNode || m.to == kNoNode) return r.Corrupt("missing sender or receiver");
  if (n_entries > kMaxEntriesPerMessage || n_entries > r.remaining() / 4) {
    return r.Corrupt("too many entries");
  }
  if (n_entries > 0 && m.type != MessageType::kAppend) return r.Corrupt("entries in non-append");
  m.entries.resize(n_entries);
  for (uint64_t i = 0; i < n_entries; ++i) {
    Entry& e = m.entries[i];
    if (!ReadEntry(r, &e)) return r.status();
    if (e.index != m.index + 1 + i) return r.Corrupt("entries not consecutive after index");
    if (e.term > m.term || e.term < m.log_term) return r.Corrupt("entry term out of range");
    if (i > 0 && e.term < m.entries[i - 1].term) return r.Corrupt("entry terms decrease");
  }
  bool has_snapshot;
  if (!r.Bool(&has_snapshot)) return r.status();
  if (has_snapshot != (m.type == MessageType::kSnapshot)) return r.Corrupt("snapshot mismatch");
  if (has_snapshot) {
    if (!ReadSnapshotMeta(r, &m.snapshot.meta) || !r.Bytes(&m.snapshot.data)) return r.status();
    if (m.snapshot.meta.index == 0 || m.snapshot.meta.term > m.term) {
      return r.Corrupt("bad snapshot metadata");
    }
  }
  if (!r.End()) return r.status();
  *out = std::move(m);
  return Status::Ok();
}

std::string EncodeEntry(const Entry& e) {
  std::string out;
  PutEntry(&out, e);
  return out;
}

Status DecodeEntry(std::string_view in, Entry* out) {
  Reader r(in);
  Entry e;
  if (!ReadEntry(r, &e) || !r.End()) return r.status();
  *out = std::move(e);
  return Status::Ok();
}

std::string EncodeHardState(const HardState& hs) {
  std::string out;
  PutVarint64(&out, hs.term);
  PutVarint64(&out, hs.vote);
  PutVarint64(&out, hs.commit);
  return out;
}

Status DecodeHardState(std::string_view in, HardState* out) {
  Reader r(in);
  HardState hs;
  if (!r.Varint(&hs.term) || !r.Varint(&hs.vote) || !r.Varint(&hs.commit) || !r.End()) {
    return r.status();
  }
  *out = hs;
  return Status::Ok();
}

std::string EncodeSnapshotMeta(const SnapshotMeta& meta) {
  std::string out;
  PutSnapshotMeta(&out, meta);
  return out;
}

Status DecodeSnapshotMeta(std::string_view in, SnapshotMeta* out) {
  Reader r(in);
  SnapshotMeta meta;
  if (!ReadSnapshotMeta(r, &meta) || !r.End()) return r.status();
  *out = std::move(meta);
  return Status::Ok();
}

std::string EncodeMembership(const Membership& m) {
  std::string out;
  PutMembership(&out, m);
  return out;
}

Status DecodeMembership(std::string_view in, Membership* out) {
  Reader r(in);
  Membership m;
  if (!ReadMembership(r, &m) || !r.End()) return r.status();
  if (m.voters.empty()) return r.Corrupt("configuration without voters");
  *out = std::move(m);
  return Status::Ok();
}

}  // namespace nines::raft
