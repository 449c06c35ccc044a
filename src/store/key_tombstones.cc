// Deleted keys remembered for WATCH, bounded; see key_tombstones.h.
#include "store/key_tombstones.h"

#include <algorithm>

namespace nines::store {

void KeyTombstones::Record(std::string_view key, const Tombstone& tombstone) {
  auto it = map_.find(std::string(key));
  if (it != map_.end() && it->second.removed_at == tombstone.removed_at) {
    it->second = tombstone;  // removed twice by one entry: one queue slot
    return;
  }
  if (it == map_.end()) it = map_.emplace(std::string(key), tombstone).first;
  it->second = tombstone;
  queue_.push_back(Queued{tombstone.removed_at, it->first});
  bytes_ += key.size() + kEntryOverhead;
  Evict();
}

void KeyTombstones::Evict() {
  while (!queue_.empty() && (queue_.size() > kMaxEntries || bytes_ > kMaxBytes)) {
    const Queued oldest = queue_.front();
    queue_.pop_front();
    bytes_ -= oldest.key.size() + kEntryOverhead;
    horizon_ = std::max(horizon_, oldest.removed_at);
    auto it = map_.find(std::string(oldest.key));
    // A later removal of the same key has its own queue entry: keep it.
    if (it != map_.end() && it->second.removed_at == oldest.removed_at) map_.erase(it);
  }
}

void KeyTombstones::ForgetAll(uint64_t index) {
  Clear();
  horizon_ = index;
}

const Tombstone* KeyTombstones::Find(std::string_view key) const {
  auto it = map_.find(std::string(key));
  return it == map_.end() ? nullptr : &it->second;
}

void KeyTombstones::Clear() {
  queue_.clear();
  map_.clear();
  bytes_ = 0;
  horizon_ = 0;
}

void KeyTombstones::Serialize(std::string* out) const {
  PutVarint64(out, horizon_);
  PutVarint64(out, queue_.size());
  for (const Queued& q : queue_) {
    PutLengthPrefixed(out, q.key);
    PutVarint64(out, q.removed_at);
    const Tombstone& t = map_.find(std::string(q.key))->second;
    const bool current = t.removed_at == q.removed_at;  // else superseded by a later entry
    out->push_back(current ? 1 : 0);
    if (current) {
      PutVarint64(out, t.changed_at);
      PutFixed64(out, static_cast<uint64_t>(t.expire_at_ms));
    }
  }
}

bool KeyTombstones::Deserialize(Decoder* decoder) {
  Clear();
  uint64_t horizon = 0;
  uint64_t count = 0;
  if (!decoder->GetVarint64(&horizon) || !decoder->GetVarint64(&count)) return false;
  if (count > decoder->remaining() || count > kMaxEntries) return false;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key;
    Tombstone t;
    uint8_t current = 0;
    if (!decoder->GetLengthPrefixed(&key) || !decoder->GetVarint64(&t.removed_at) ||
        !decoder->GetByte(&current) || current > 1) {
      return false;
    }
    if (current == 1) {
      uint64_t expire = 0;
      if (!decoder->GetVarint64(&t.changed_at) || !decoder->GetFixed64(&expire)) return false;
      t.expire_at_ms = static_cast<int64_t>(expire);
    }
    Record(key, t);
  }
  horizon_ = std::max(horizon_, horizon);
  return true;
}

}  // namespace nines::store
