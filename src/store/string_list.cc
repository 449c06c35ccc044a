// List values (see string_list.h); index rules as Redis's t_list.c.
#include "store/string_list.h"

#include "base/check.h"

namespace nines::store {

void StringList::PushFront(std::string_view value) {
  items_.emplace_front(value);
  bytes_ += value.size();
}

void StringList::PushBack(std::string_view value) {
  items_.emplace_back(value);
  bytes_ += value.size();
}

std::string StringList::PopFront() {
  NINES_CHECK(!items_.empty(), "popping from a non-empty list");
  std::string value = std::move(items_.front());
  items_.pop_front();
  bytes_ -= value.size();
  return value;
}

std::string StringList::PopBack() {
  NINES_CHECK(!items_.empty(), "popping from a non-empty list");
  std::string value = std::move(items_.back());
  items_.pop_back();
  bytes_ -= value.size();
  return value;
}

const std::string* StringList::At(int64_t index) const {
  const auto n = static_cast<int64_t>(items_.size());
  if (index < 0) index += n;
  if (index < 0 || index >= n) return nullptr;
  return &items_[static_cast<size_t>(index)];
}

bool StringList::Set(int64_t index, std::string_view value) {
  const auto n = static_cast<int64_t>(items_.size());
  if (index < 0) index += n;
  if (index < 0 || index >= n) return false;
  std::string& slot = items_[static_cast<size_t>(index)];
  bytes_ += value.size();
  bytes_ -= slot.size();
  slot.assign(value);
  return true;
}

bool StringList::ClampRange(int64_t start, int64_t stop, uint64_t* first, uint64_t* last) const {
  const auto n = static_cast<int64_t>(items_.size());
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return false;
  if (stop >= n) stop = n - 1;
  *first = static_cast<uint64_t>(start);
  *last = static_cast<uint64_t>(stop);
  return true;
}

void StringList::Trim(int64_t start, int64_t stop) {
  uint64_t first = 0;
  uint64_t last = 0;
  if (!ClampRange(start, stop, &first, &last)) {
    items_.clear();
    bytes_ = 0;
    return;
  }
  while (items_.size() > last + 1) PopBack();
  for (uint64_t i = 0; i < first; ++i) PopFront();
}

bool StringList::Insert(bool before, std::string_view pivot, std::string_view value) {
  for (auto it = items_.begin(); it != items_.end(); ++it) {
    if (*it != pivot) continue;
    items_.emplace(before ? it : it + 1, value);
    bytes_ += value.size();
    return true;
  }
  return false;
}

uint64_t StringList::Remove(int64_t count, std::string_view value) {
  const uint64_t limit = count == 0  ? UINT64_MAX
                         : count > 0 ? static_cast<uint64_t>(count)
                                     : static_cast<uint64_t>(-(count + 1)) + 1;
  uint64_t removed = 0;
  std::deque<std::string> kept;
  if (count >= 0) {
    for (auto& item : items_) {
      if (removed < limit && item == value) {
        ++removed;
        bytes_ -= item.size();
      } else {
        kept.push_back(std::move(item));
      }
    }
  } else {
    for (auto it = items_.rbegin(); it != items_.rend(); ++it) {
      if (removed < limit && *it == value) {
        ++removed;
        bytes_ -= it->size();
      } else {
        kept.push_front(std::move(*it));
      }
    }
  }
  items_ = std::move(kept);
  return removed;
}

std::vector<uint64_t> StringList::Positions(std::string_view value, int64_t rank, uint64_t count,
                                            uint64_t max_len) const {
  std::vector<uint64_t> found;
  const uint64_t n = items_.size();
  const bool from_head = rank > 0;
  uint64_t skip = from_head ? static_cast<uint64_t>(rank) - 1
                            : static_cast<uint64_t>(-(rank + 1));  // rank != INT64_MIN
  for (uint64_t looked = 0; looked < n && (max_len == 0 || looked < max_len); ++looked) {
    const uint64_t position = from_head ? looked : n - 1 - looked;
    if (items_[position] != value) continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    found.push_back(position);
    if (count != 0 && found.size() >= count) break;
  }
  return found;
}

}  // namespace nines::store
