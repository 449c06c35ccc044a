// The replicated table of applied request ids; see request_dedup.h.
#include "store/request_dedup.h"

#include <fmt/format.h>

#include "store/coding.h"

namespace nines::store {

namespace {
constexpr uint32_t kDedupMagic = 0x31445152;  // "RQD1"
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

void RequestDedup::Evict() {
  while (!order_.empty() && (entries_.size() > kMaxEntries || bytes_ > kMaxBytes)) {
    auto it = entries_.find(order_.front());
    order_.pop_front();
    if (it == entries_.end()) continue;
    bytes_ -= kEntryOverhead + it->second.result.size();
    entries_.erase(it);
    ++evictions_;
  }
}

void RequestDedup::Clear() {
  entries_.clear();
  order_.clear();
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
  if (!decoder.GetFixed32(&magic) || magic != kDedupMagic) return bad("bad magic");
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
  *used = in.size() - decoder.remaining();
  return Status::Ok();
}

}  // namespace nines::store
