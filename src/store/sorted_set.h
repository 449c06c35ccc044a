// A sorted set value: a member -> node hash for O(1) ZSCORE and membership,
// and the ScoreSkipList for order, ranks and ranges, as Redis's zset. Also
// the text forms Redis uses for scores: parsing ("ERR value is not a valid
// float"), ranges ("(1.5", "-inf", "[a", "+") and the %.17g replies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/score_skip_list.h"

namespace nines::store {

inline constexpr std::string_view kErrMinMaxNotFloat = "ERR min or max is not a float";
inline constexpr std::string_view kErrMinMaxNotString =
    "ERR min or max not valid string range item";
inline constexpr std::string_view kErrScoreNaN = "ERR resulting score is not a number (NaN)";

// Redis's getDoubleFromObject ("ERR value is not a valid float" when false):
// strtod over the whole text, no leading space, no overflow to +-HUGE_VAL or
// underflow to 0, never NaN ("inf" is fine).
bool ParseScore(std::string_view text, double* value);
// Redis's zslParseRange for one end: "(x" exclusive, else x; NaN rejected.
bool ParseScoreBound(std::string_view text, double* value, bool* exclusive);
bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* range);
// Redis's zslParseLexRangeItem: "-", "+", "[x" or "(x". Views into text.
bool ParseLexBound(std::string_view text, LexBound* bound);
bool ParseLexRange(std::string_view min, std::string_view max, LexRange* range);
// A score as Redis 7.0 replies with it: "inf", "-inf", else %.17g.
std::string FormatScore(double score);

class SortedSet {
 public:
  using Node = ScoreSkipList::Node;

  SortedSet() = default;
  SortedSet(const SortedSet&) = delete;
  SortedSet& operator=(const SortedSet&) = delete;

  uint64_t size() const { return list_.size(); }
  bool empty() const { return list_.size() == 0; }
  // Bytes of members plus 8 per score, for memory accounting.
  uint64_t bytes() const { return bytes_; }

  const Node* Find(std::string_view member) const;
  std::optional<double> Score(std::string_view member) const;
  // Adds a member that is not in the set.
  const Node* Insert(std::string_view member, double score);
  // Adds or moves member to score; true if it was added.
  bool Set(std::string_view member, double score);
  bool Erase(std::string_view member);
  void Erase(const Node* node);

  // 0-based rank in ascending order.
  uint64_t RankOf(const Node* node) const { return list_.Rank(node) - 1; }
  // The node at 0-based rank, or null past the end.
  const Node* AtRank(uint64_t rank) const { return list_.AtRank(rank + 1); }
  const Node* first() const { return list_.first(); }
  const Node* last() const { return list_.last(); }
  const Node* FirstInRange(const ScoreRange& r) const { return list_.FirstInRange(r); }
  const Node* LastInRange(const ScoreRange& r) const { return list_.LastInRange(r); }
  // Lex ranges assume equal scores (then members are in order and these are
  // O(log n)). With different scores they follow Redis's listpack: the first
  // member from the head that is >= min (null unless it is also <= max), the
  // last from the tail that is <= max; a linear walk, but never dependent on
  // the skip list's shape, so every member of the group answers the same.
  const Node* FirstInLexRange(const LexRange& range) const;
  const Node* LastInLexRange(const LexRange& range) const;
  // Members in a score range, O(log n).
  uint64_t CountInRange(const ScoreRange& range) const;
  // The run of members from FirstInLexRange while they are <= max.
  uint64_t CountInLexRange(const LexRange& range) const;

  // Removes `count` members in order from `first`; returns how many.
  uint64_t EraseRun(const Node* first, uint64_t count);

  // Invariant check for tests: the hash and the list hold the same members.
  bool Check() const;

 private:
  // All members share one score: lex order is member order.
  bool UniformScore() const { return empty() || first()->score == last()->score; }

  ScoreSkipList list_;
  // Keys view the member strings the list nodes own (their addresses never
  // change while the node lives, UpdateScore included).
  std::unordered_map<std::string_view, const Node*> index_;
  uint64_t bytes_ = 0;
};

}  // namespace nines::store
