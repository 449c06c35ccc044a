// Sorted set values and Redis's text forms for scores and ranges (see
// sorted_set.h).
#include "store/sorted_set.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/check.h"

namespace nines::store {
namespace {

// strtod over all of text (a NUL-terminated copy); false if it stops early.
bool StrtodAll(std::string_view text, double* value, bool* range_error) {
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  *value = std::strtod(copy.c_str(), &end);
  *range_error = errno == ERANGE;
  return end == copy.c_str() + copy.size();
}

}  // namespace

bool ParseScore(std::string_view text, double* value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  bool range_error = false;
  if (!StrtodAll(text, value, &range_error)) return false;
  if (range_error &&
      (*value == HUGE_VAL || *value == -HUGE_VAL || std::fpclassify(*value) == FP_ZERO)) {
    return false;
  }
  return !std::isnan(*value);
}

bool ParseScoreBound(std::string_view text, double* value, bool* exclusive) {
  *exclusive = !text.empty() && text[0] == '(';
  if (*exclusive) text.remove_prefix(1);
  bool range_error = false;
  return StrtodAll(text, value, &range_error) && !std::isnan(*value);
}

bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* range) {
  return ParseScoreBound(min, &range->min, &range->min_exclusive) &&
         ParseScoreBound(max, &range->max, &range->max_exclusive);
}

bool ParseLexBound(std::string_view text, LexBound* bound) {
  if (text.empty()) return false;
  switch (text[0]) {
    case '+':
      if (text.size() != 1) return false;
      *bound = {LexBound::Kind::kPlusInfinity, {}, true};
      return true;
    case '-':
      if (text.size() != 1) return false;
      *bound = {LexBound::Kind::kMinusInfinity, {}, true};
      return true;
    case '(':
      *bound = {LexBound::Kind::kValue, text.substr(1), true};
      return true;
    case '[':
      *bound = {LexBound::Kind::kValue, text.substr(1), false};
      return true;
    default:
      return false;
  }
}

bool ParseLexRange(std::string_view min, std::string_view max, LexRange* range) {
  return ParseLexBound(min, &range->min) && ParseLexBound(max, &range->max);
}

std::string FormatScore(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%.17g", score);
  return std::string(buf, static_cast<size_t>(n));
}

const SortedSet::Node* SortedSet::Find(std::string_view member) const {
  auto it = index_.find(member);
  return it == index_.end() ? nullptr : it->second;
}

std::optional<double> SortedSet::Score(std::string_view member) const {
  const Node* node = Find(member);
  if (node == nullptr) return std::nullopt;
  return node->score;
}

const SortedSet::Node* SortedSet::Insert(std::string_view member, double score) {
  NINES_CHECK(Find(member) == nullptr, "inserting a member that is not in the set");
  const Node* node = list_.Insert(score, std::string(member));
  index_.emplace(std::string_view(node->member), node);
  bytes_ += member.size() + sizeof(double);
  return node;
}

bool SortedSet::Set(std::string_view member, double score) {
  const Node* node = Find(member);
  if (node == nullptr) {
    Insert(member, score);
    return true;
  }
  if (node->score != score) list_.UpdateScore(node, score);
  return false;
}

void SortedSet::Erase(const Node* node) {
  bytes_ -= node->member.size() + sizeof(double);
  index_.erase(std::string_view(node->member));
  list_.Erase(node);
}

bool SortedSet::Erase(std::string_view member) {
  const Node* node = Find(member);
  if (node == nullptr) return false;
  Erase(node);
  return true;
}

uint64_t SortedSet::CountInRange(const ScoreRange& range) const {
  const Node* first = list_.FirstInRange(range);
  if (first == nullptr) return 0;
  const Node* last = list_.LastInRange(range);
  return list_.Rank(last) - list_.Rank(first) + 1;
}

const SortedSet::Node* SortedSet::FirstInLexRange(const LexRange& range) const {
  if (UniformScore()) return list_.FirstInLexRange(range);
  if (range.Empty() || !range.AboveMin(last()->member) || !range.BelowMax(first()->member)) {
    return nullptr;
  }
  for (const Node* x = first(); x != nullptr; x = x->next()) {
    if (range.AboveMin(x->member)) return range.BelowMax(x->member) ? x : nullptr;
  }
  return nullptr;
}

const SortedSet::Node* SortedSet::LastInLexRange(const LexRange& range) const {
  if (UniformScore()) return list_.LastInLexRange(range);
  if (range.Empty() || !range.AboveMin(last()->member) || !range.BelowMax(first()->member)) {
    return nullptr;
  }
  for (const Node* x = last(); x != nullptr; x = x->prev()) {
    if (range.BelowMax(x->member)) return range.AboveMin(x->member) ? x : nullptr;
  }
  return nullptr;
}

uint64_t SortedSet::CountInLexRange(const LexRange& range) const {
  const Node* first = FirstInLexRange(range);
  if (first == nullptr) return 0;
  if (UniformScore()) return list_.Rank(list_.LastInLexRange(range)) - list_.Rank(first) + 1;
  uint64_t count = 0;
  for (const Node* x = first; x != nullptr && range.BelowMax(x->member); x = x->next()) ++count;
  return count;
}

uint64_t SortedSet::EraseRun(const Node* first, uint64_t count) {
  uint64_t removed = 0;
  while (first != nullptr && removed < count) {
    const Node* next = first->next();
    Erase(first);
    ++removed;
    first = next;
  }
  return removed;
}

bool SortedSet::Check() const {
  if (!list_.Check() || index_.size() != list_.size()) return false;
  uint64_t bytes = 0;
  for (const Node* x = list_.first(); x != nullptr; x = x->next()) {
    if (Find(x->member) != x) return false;
    bytes += x->member.size() + sizeof(double);
  }
  return bytes == bytes_;
}

}  // namespace nines::store
