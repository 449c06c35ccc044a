// A list value: a deque of binary-safe strings, with the operations the list
// commands need and Redis's index rules (negative indexes count from the
// tail; ranges are clamped, never an error).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace nines::store {

class StringList {
 public:
  uint64_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Bytes of the elements, for memory accounting.
  uint64_t bytes() const { return bytes_; }

  void PushFront(std::string_view value);
  void PushBack(std::string_view value);
  std::string PopFront();
  std::string PopBack();

  // The element at a Redis index (negative from the tail), or null.
  const std::string* At(int64_t index) const;
  // LSET: false if the index is out of range.
  bool Set(int64_t index, std::string_view value);
  // LRANGE's clamped [start, stop] as positions; false if empty.
  bool ClampRange(int64_t start, int64_t stop, uint64_t* first, uint64_t* last) const;
  const std::string& operator[](uint64_t position) const { return items_[position]; }
  // LTRIM: keeps [start, stop] (clamped), the whole list may go.
  void Trim(int64_t start, int64_t stop);
  // LINSERT: inserts value before/after the first element equal to pivot;
  // false if there is no such element.
  bool Insert(bool before, std::string_view pivot, std::string_view value);
  // LREM: removes up to |count| elements equal to value, from the head if
  // count > 0, from the tail if < 0, all if 0. Returns how many.
  uint64_t Remove(int64_t count, std::string_view value);
  // LPOS: positions of elements equal to value. rank > 0 starts from the
  // head and skips rank-1 matches; rank < 0 from the tail. Stops after
  // `count` matches (0: all) and after looking at `max_len` elements (0: all).
  std::vector<uint64_t> Positions(std::string_view value, int64_t rank, uint64_t count,
                                  uint64_t max_len) const;

 private:
  std::deque<std::string> items_;
  uint64_t bytes_ = 0;
};

}  // namespace nines::store
