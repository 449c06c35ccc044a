// The value of a hash key: field -> value, with O(1) lookup, insert and
// erase. Fields live in a dense array (erase moves the last field into the
// hole) whose order is part of the replicated state: snapshots keep it, so
// every member holds the same order and a position picked from it (HRANDFIELD
// at apply time, HSCAN pages) means the same field everywhere.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace nines::store {

// Bytes counted per collection element on top of its contents (pointers,
// hash table slot): a rough figure for memory accounting.
inline constexpr uint64_t kElementOverheadBytes = 16;

class HashValue {
 public:
  using Field = std::pair<std::string, std::string>;  // field, value

  HashValue() = default;
  HashValue(const HashValue& other) { *this = other; }
  HashValue& operator=(const HashValue& other);

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  // The value of field, or nullptr.
  const std::string* Get(std::string_view field) const;
  // Sets field to value; true if the field is new.
  bool Set(std::string_view field, std::string_view value);
  // Removes field; false if it was not there.
  bool Erase(std::string_view field);
  // The i-th field in the dense order (i < size()).
  const Field& at(size_t i) const { return fields_[i]; }
  // Contents plus kElementOverheadBytes per field.
  uint64_t bytes() const { return bytes_; }

 private:
  std::deque<Field> fields_;  // a deque: growing never moves a field (index_ views them)
  std::unordered_map<std::string_view, size_t> index_;
  uint64_t bytes_ = 0;
};

}  // namespace nines::store
