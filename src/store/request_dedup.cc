// The replicated table of applied request ids; see request_dedup.h.
#include "store/request_dedup.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "base/coding.h"

namespace nines::store {

namespace {
constexpr uint32_t kDedupMagicV1 = 0x31445152;  // "RQD1": entries only
constexpr uint32_t kDedupMagic = 0x32445152;    // "RQD2": entries, then evicted id ranges
constexpr size_t kWrapHeader = 17;
}  // namespace

std::string WrapDeduplicated(const RequestKey& key, std::string_view command) {
  std::string out;
  out.reserve(kWrapHeader + command.size());
  out.push_back(kDedupMarker);
  PutFixed64(&out, key.origin);
  PutFixed64(&out, key.id);
  out += command;
  return out;
}

bool UnwrapDeduplicated(std::string_view payload, RequestKey* key, std::string_view* command) {
  if (payload.size() < kWrapHeader || payload[0] != kDedupMarker) return false;
  key->origin = DecodeFixed64(payload.data() + 1);
  key->id = DecodeFixed64(payload.data() + 9);
  *command = payload.substr(kWrapHeader);
  return true;
}

const std::string* RequestDedup::Find(const RequestKey& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.result;
}

void RequestDedup::Record(const RequestKey& key, uint64_t index, std::string result) {
  auto [it, inserted] = entries_.try_emplace(key);
  if (!inserted) return;
  bytes_ += kEntryOverhead + result.size();
  it->second.index = index;
  it->second.result = std::move(result);
  order_.push_back(key);
  Evict();
}

bool RequestDedup::Evicted(const RequestKey& key) const {
  auto it = evicted_.upper_bound({key.origin, key.id});
  if (it == evicted_.begin()) return false;
  --it;
  return it->first.first == key.origin && key.id <= it->second.hi;
}

void RequestDedup::Evict() {
  while (!order_.empty() && (entries_.size() > kMaxEntries || bytes_ > kMaxBytes)) {
    auto it = entries_.find(order_.front());
    order_.pop_front();
    if (it == entries_.end()) continue;
    bytes_ -= kEntryOverhead + it->second.result.size();
    RememberEvicted(it->first, it->second.index);
    entries_.erase(it);
    ++evictions_;
  }
}

void RequestDedup::RememberEvicted(const RequestKey& key, uint64_t index) {
  const uint64_t origin = key.origin;
  const uint64_t id = key.id;
  uint64_t lo = id;
  EvictedRange range{id, index};
  // The range at or below id, if it reaches within the gap, absorbs it...
  auto it = evicted_.upper_bound({origin, id});
  if (it != evicted_.begin()) {
    auto below = std::prev(it);
    if (below->first.first == origin && id - std::min(id, below->second.hi) <= kMaxRangeGap) {
      lo = below->first.second;
      range.hi = std::max(below->second.hi, id);
      evicted_.erase(below);
    }
  }
  // ...and so does the range above it.
  it = evicted_.upper_bound({origin, id});
  if (it != evicted_.end() && it->first.first == origin && it->first.second - id <= kMaxRangeGap) {
    range.hi = std::max(range.hi, it->second.hi);
    evicted_.erase(it);
  }
  AddRange(origin, lo, range);
}

void RequestDedup::AddRange(uint64_t origin, uint64_t lo, EvictedRange range) {
  evicted_[{origin, lo}] = range;
  if (evicted_.size() <= kMaxEvictedRanges) return;
  auto oldest = evicted_.begin();
  for (auto it = evicted_.begin(); it != evicted_.end(); ++it) {
    if (it->second.last_index < oldest->second.last_index) oldest = it;
  }
  evicted_.erase(oldest);
}

void RequestDedup::Clear() {
  entries_.clear();
  order_.clear();
  evicted_.clear();
  bytes_ = 0;
}

void RequestDedup::Serialize(std::string* out) const {
  PutFixed32(out, kDedupMagic);
  PutVarint64(out, order_.size());
  for (const RequestKey& key : order_) {
    const Entry& e = entries_.at(key);
    PutFixed64(out, key.origin);
    PutFixed64(out, key.id);
    PutFixed64(out, e.index);
    PutLengthPrefixed(out, e.result);
  }
  PutVarint64(out, evicted_.size());
  for (const auto& [start, range] : evicted_) {
    PutFixed64(out, start.first);
    PutFixed64(out, start.second);
    PutFixed64(out, range.hi);
    PutFixed64(out, range.last_index);
  }
}

Status RequestDedup::Deserialize(std::string_view in, size_t* used) {
  Clear();
  auto bad = [this](const std::string& why) {
    Clear();
    return Status::Corruption("request dedup table: " + why);
  };
  Decoder decoder(in);
  uint32_t magic = 0;
  uint64_t count = 0;
  if (!decoder.GetFixed32(&magic) || (magic != kDedupMagic && magic != kDedupMagicV1)) {
    return bad("bad magic");
  }
  if (!decoder.GetVarint64(&count)) return bad("truncated header");
  if (count > kMaxEntries) return bad(fmt::format("{} entries, more than {}", count, kMaxEntries));
  uint64_t last_index = 0;
  for (uint64_t i = 0; i < count; ++i) {
    RequestKey key;
    uint64_t index = 0;
    std::string_view result;
    if (!decoder.GetFixed64(&key.origin) || !decoder.GetFixed64(&key.id) ||
        !decoder.GetFixed64(&index) || !decoder.GetLengthPrefixed(&result)) {
      return bad(fmt::format("entry {} truncated", i));
    }
    if (index < last_index) return bad(fmt::format("entry {} out of log order", i));
    last_index = index;
    if (entries_.count(key)) return bad(fmt::format("duplicate entry {}", i));
    Record(key, index, std::string(result));
  }
  if (magic == kDedupMagic) {
    uint64_t ranges = 0;
    if (!decoder.GetVarint64(&ranges)) return bad("truncated evicted ranges");
    if (ranges > kMaxEvictedRanges) {
      return bad(fmt::format("{} evicted ranges, more than {}", ranges, kMaxEvictedRanges));
    }
    for (uint64_t i = 0; i < ranges; ++i) {
      uint64_t origin = 0;
      uint64_t lo = 0;
      EvictedRange range;
      if (!decoder.GetFixed64(&origin) || !decoder.GetFixed64(&lo) ||
          !decoder.GetFixed64(&range.hi) || !decoder.GetFixed64(&range.last_index)) {
        return bad(fmt::format("evicted range {} truncated", i));
      }
      if (lo > range.hi) return bad(fmt::format("evicted range {} is empty", i));
      if (!evicted_.emplace(std::make_pair(origin, lo), range).second) {
        return bad(fmt::format("duplicate evicted range {}", i));
      }
    }
  }
  *used = in.size() - decoder.remaining();
  return Status::Ok();
}

}  // namespace nines::store
