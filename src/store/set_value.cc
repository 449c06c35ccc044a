// SetValue: a dense array of members with a lookup index.
#include "store/set_value.h"

namespace nines::store {

SetValue& SetValue::operator=(const SetValue& other) {
  if (this == &other) return *this;
  members_.clear();
  index_.clear();
  bytes_ = 0;
  for (const std::string& m : other.members_) Add(m);
  return *this;
}

bool SetValue::Add(std::string_view member) {
  if (index_.count(member) != 0) return false;
  members_.emplace_back(member);
  index_.emplace(members_.back(), members_.size() - 1);
  bytes_ += member.size() + kElementOverheadBytes;
  return true;
}

bool SetValue::Erase(std::string_view member) {
  auto it = index_.find(member);
  if (it == index_.end()) return false;
  const size_t pos = it->second;
  bytes_ -= members_[pos].size() + kElementOverheadBytes;
  index_.erase(it);
  if (pos + 1 != members_.size()) {
    index_.erase(members_.back());
    members_[pos] = std::move(members_.back());
    index_.emplace(members_[pos], pos);
  }
  members_.pop_back();
  return true;
}

}  // namespace nines::store
