// The ordered half of a sorted set: a skip list of (score, member) with spans,
// as Redis's t_zset (Pugh's skip list plus a span per link, so a rank is found
// in O(log n), and a backward link for reverse walks). Order: score, then
// member bytes (unsigned, memcmp). Scores are never NaN.
//
// Determinism: node heights come from a xorshift generator with a fixed seed,
// so the same operations build the same list on every member; the shape never
// changes a result anyway (only speed).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace nines::store {

// A score interval; an exclusive end is written "(x" by Redis.
struct ScoreRange {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  bool max_exclusive = false;

  bool AboveMin(double v) const { return min_exclusive ? v > min : v >= min; }
  bool BelowMax(double v) const { return max_exclusive ? v < max : v <= max; }
  bool Empty() const { return min > max || (min == max && (min_exclusive || max_exclusive)); }
};

// A member interval for the BYLEX commands: "-" and "+" are the open ends
// (exclusive, as in Redis), "[x" inclusive, "(x" exclusive.
struct LexBound {
  enum class Kind : uint8_t { kMinusInfinity, kValue, kPlusInfinity };
  Kind kind = Kind::kValue;
  std::string_view value;  // kValue only
  bool exclusive = false;
};

struct LexRange {
  LexBound min;
  LexBound max;

  bool AboveMin(std::string_view member) const;
  bool BelowMax(std::string_view member) const;
  bool Empty() const;
};

class ScoreSkipList {
 public:
  static constexpr int kMaxLevel = 32;

  struct Node;
  struct Link {
    Node* forward = nullptr;
    uint64_t span = 0;  // nodes crossed by following forward (0 at the tail)
  };
  struct Node {
    double score = 0;
    std::string member;
    Node* backward = nullptr;
    int height = 0;
    std::unique_ptr<Link[]> links;

    const Node* next() const { return links[0].forward; }
    const Node* prev() const { return backward; }
  };

  ScoreSkipList();
  ~ScoreSkipList();
  ScoreSkipList(const ScoreSkipList&) = delete;
  ScoreSkipList& operator=(const ScoreSkipList&) = delete;

  uint64_t size() const { return length_; }
  const Node* first() const { return header_->links[0].forward; }
  const Node* last() const { return tail_; }

  // Inserts (score, member); the member must not be in the list already.
  Node* Insert(double score, std::string member);
  // Removes the node, returning its member (the node is freed).
  std::string Erase(const Node* node);
  // Moves node to its place for new_score, keeping the node (and the
  // address of its member) alive.
  void UpdateScore(const Node* node, double new_score);

  // 1-based rank of the node (its position in order).
  uint64_t Rank(const Node* node) const;
  // The node at 1-based rank, or null if rank is 0 or past the end.
  const Node* AtRank(uint64_t rank) const;

  const Node* FirstInRange(const ScoreRange& range) const;
  const Node* LastInRange(const ScoreRange& range) const;
  const Node* FirstInLexRange(const LexRange& range) const;
  const Node* LastInLexRange(const LexRange& range) const;

  // Invariant check for tests: order, spans, backward links and the length.
  bool Check() const;

 private:
  int RandomHeight();
  // Fills update[] (the last node before `node` on each level) and rank[].
  void FindPredecessors(double score, std::string_view member, Node** update, uint64_t* rank) const;
  void UnlinkNode(Node* node, Node** update);
  void LinkNode(Node* node, Node** update, const uint64_t* rank);

  Node* header_;
  Node* tail_ = nullptr;
  uint64_t length_ = 0;
  int level_ = 1;
  uint64_t random_state_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace nines::store
