// The value of a set key: distinct members with O(1) lookup, insert, erase
// and pick-by-position. Members live in a dense array (erase moves the last
// member into the hole) whose order is part of the replicated state:
// snapshots keep it, so SPOP's position, derived from the log index, picks
// the same member on every member of the group.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/hash_value.h"

namespace nines::store {

class SetValue {
 public:
  SetValue() = default;
  SetValue(const SetValue& other) { *this = other; }
  SetValue& operator=(const SetValue& other);

  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  bool Contains(std::string_view member) const { return index_.count(member) != 0; }
  // True if member is new.
  bool Add(std::string_view member);
  // False if member was not there.
  bool Erase(std::string_view member);
  // The i-th member in the dense order (i < size()).
  const std::string& at(size_t i) const { return members_[i]; }
  // Contents plus kElementOverheadBytes per member.
  uint64_t bytes() const { return bytes_; }

 private:
  std::deque<std::string> members_;  // growing never moves a member (index_ views them)
  std::unordered_map<std::string_view, size_t> index_;
  uint64_t bytes_ = 0;
};

}  // namespace nines::store
