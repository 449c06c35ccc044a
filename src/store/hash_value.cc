// HashValue: a dense array of fields with a lookup index.
#include "store/hash_value.h"

namespace nines::store {

HashValue& HashValue::operator=(const HashValue& other) {
  if (this == &other) return *this;
  fields_.clear();
  index_.clear();
  bytes_ = 0;
  for (const Field& f : other.fields_) Set(f.first, f.second);
  return *this;
}

const std::string* HashValue::Get(std::string_view field) const {
  auto it = index_.find(field);
  return it == index_.end() ? nullptr : &fields_[it->second].second;
}

bool HashValue::Set(std::string_view field, std::string_view value) {
  auto it = index_.find(field);
  if (it != index_.end()) {
    std::string& old = fields_[it->second].second;
    bytes_ = bytes_ - old.size() + value.size();
    old.assign(value);
    return false;
  }
  fields_.emplace_back(std::string(field), std::string(value));
  index_.emplace(fields_.back().first, fields_.size() - 1);
  bytes_ += field.size() + value.size() + kElementOverheadBytes;
  return true;
}

bool HashValue::Erase(std::string_view field) {
  auto it = index_.find(field);
  if (it == index_.end()) return false;
  const size_t pos = it->second;
  bytes_ -= fields_[pos].first.size() + fields_[pos].second.size() + kElementOverheadBytes;
  index_.erase(it);
  if (pos + 1 != fields_.size()) {
    // Move the last field into the hole; its key view changes with it.
    index_.erase(fields_.back().first);
    fields_[pos] = std::move(fields_.back());
    index_.emplace(fields_[pos].first, pos);
  }
  fields_.pop_back();
  return true;
}

}  // namespace nines::store
