// The skip list with spans behind sorted sets (see score_skip_list.h); the
// algorithms follow Redis's zslInsert, zslDeleteNode, zslGetRank and
// zslGetElementByRank.
#include "store/score_skip_list.h"

#include <cmath>

#include "base/check.h"

namespace nines::store {
namespace {

// (a_score, a_member) < (b_score, b_member) in sorted set order.
bool Before(double a_score, std::string_view a_member, double b_score, std::string_view b_member) {
  return a_score < b_score || (a_score == b_score && a_member < b_member);
}

// Compares a member with a bound: -1 below it, 0 equal, 1 above.
int CompareToBound(std::string_view member, const LexBound& bound) {
  switch (bound.kind) {
    case LexBound::Kind::kMinusInfinity:
      return 1;
    case LexBound::Kind::kPlusInfinity:
      return -1;
    case LexBound::Kind::kValue:
      break;
  }
  int c = member.compare(bound.value);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

bool LexRange::AboveMin(std::string_view member) const {
  int c = CompareToBound(member, min);
  return min.exclusive ? c > 0 : c >= 0;
}

bool LexRange::BelowMax(std::string_view member) const {
  int c = CompareToBound(member, max);
  return max.exclusive ? c < 0 : c <= 0;
}

bool LexRange::Empty() const {
  // Redis's sdscmplex on the two bounds.
  auto rank = [](const LexBound& b) {
    return b.kind == LexBound::Kind::kMinusInfinity ? 0 : b.kind == LexBound::Kind::kValue ? 1 : 2;
  };
  int c = 0;
  if (rank(min) != rank(max)) {
    c = rank(min) < rank(max) ? -1 : 1;
  } else if (min.kind == LexBound::Kind::kValue) {
    int v = min.value.compare(max.value);
    c = v < 0 ? -1 : (v > 0 ? 1 : 0);
  }
  return c > 0 || (c == 0 && (min.exclusive || max.exclusive));
}

ScoreSkipList::ScoreSkipList() : header_(new Node) {
  header_->height = kMaxLevel;
  header_->links = std::make_unique<Link[]>(kMaxLevel);
}

ScoreSkipList::~ScoreSkipList() {
  Node* node = header_->links[0].forward;
  while (node != nullptr) {
    Node* next = node->links[0].forward;
    delete node;
    node = next;
  }
  delete header_;
}

int ScoreSkipList::RandomHeight() {
  // xorshift64*, then levels with probability 1/4 each, as Redis (ZSKIPLIST_P).
  int height = 1;
  while (height < kMaxLevel) {
    random_state_ ^= random_state_ >> 12;
    random_state_ ^= random_state_ << 25;
    random_state_ ^= random_state_ >> 27;
    uint64_t r = random_state_ * 0x2545f4914f6cdd1dull;
    if ((r >> 62) != 0) break;  // 3 in 4: stop
    ++height;
  }
  return height;
}

void ScoreSkipList::FindPredecessors(double score, std::string_view member, Node** update,
                                     uint64_t* rank) const {
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (x->links[i].forward != nullptr &&
           Before(x->links[i].forward->score, x->links[i].forward->member, score, member)) {
      rank[i] += x->links[i].span;
      x = x->links[i].forward;
    }
    update[i] = x;
  }
}

void ScoreSkipList::LinkNode(Node* x, Node** update, const uint64_t* rank) {
  for (int i = 0; i < x->height; ++i) {
    x->links[i].forward = update[i]->links[i].forward;
    update[i]->links[i].forward = x;
    x->links[i].span = update[i]->links[i].span - (rank[0] - rank[i]);
    update[i]->links[i].span = (rank[0] - rank[i]) + 1;
  }
  for (int i = x->height; i < level_; ++i) update[i]->links[i].span++;
  x->backward = update[0] == header_ ? nullptr : update[0];
  if (x->links[0].forward != nullptr) {
    x->links[0].forward->backward = x;
  } else {
    tail_ = x;
  }
  ++length_;
}

ScoreSkipList::Node* ScoreSkipList::Insert(double score, std::string member) {
  NINES_CHECK(!std::isnan(score), "a sorted set score is never NaN");
  Node* update[kMaxLevel];
  uint64_t rank[kMaxLevel];
  FindPredecessors(score, member, update, rank);
  auto* x = new Node;
  x->score = score;
  x->member = std::move(member);
  x->height = RandomHeight();
  x->links = std::make_unique<Link[]>(static_cast<size_t>(x->height));
  if (x->height > level_) {
    for (int i = level_; i < x->height; ++i) {
      rank[i] = 0;
      update[i] = header_;
      update[i]->links[i].span = length_;
    }
    level_ = x->height;
  }
  LinkNode(x, update, rank);
  return x;
}

void ScoreSkipList::UnlinkNode(Node* x, Node** update) {
  for (int i = 0; i < level_; ++i) {
    if (update[i]->links[i].forward == x) {
      update[i]->links[i].span += x->links[i].span - 1;
      update[i]->links[i].forward = x->links[i].forward;
    } else {
      update[i]->links[i].span -= 1;
    }
  }
  if (x->links[0].forward != nullptr) {
    x->links[0].forward->backward = x->backward;
  } else {
    tail_ = x->backward;
  }
  while (level_ > 1 && header_->links[level_ - 1].forward == nullptr) --level_;
  --length_;
}

std::string ScoreSkipList::Erase(const Node* node) {
  Node* update[kMaxLevel];
  uint64_t rank[kMaxLevel];
  FindPredecessors(node->score, node->member, update, rank);
  Node* x = update[0]->links[0].forward;
  NINES_CHECK(x == node, "erasing a node that is in the list");
  UnlinkNode(x, update);
  std::string member = std::move(x->member);
  delete x;
  return member;
}

void ScoreSkipList::UpdateScore(const Node* node, double new_score) {
  NINES_CHECK(!std::isnan(new_score), "a sorted set score is never NaN");
  Node* update[kMaxLevel];
  uint64_t rank[kMaxLevel];
  FindPredecessors(node->score, node->member, update, rank);
  Node* x = update[0]->links[0].forward;
  NINES_CHECK(x == node, "updating a node that is in the list");
  // Still in order where it is: change the score in place (as Redis).
  if ((x->backward == nullptr ||
       Before(x->backward->score, x->backward->member, new_score, x->member)) &&
      (x->links[0].forward == nullptr ||
       Before(new_score, x->member, x->links[0].forward->score, x->links[0].forward->member))) {
    x->score = new_score;
    return;
  }
  UnlinkNode(x, update);
  x->score = new_score;
  FindPredecessors(new_score, x->member, update, rank);
  // The node keeps its height; levels above the list's may be back in use.
  if (x->height > level_) {
    for (int i = level_; i < x->height; ++i) {
      rank[i] = 0;
      update[i] = header_;
      update[i]->links[i].span = length_;
    }
    level_ = x->height;
  }
  LinkNode(x, update, rank);
}

uint64_t ScoreSkipList::Rank(const Node* node) const {
  const Node* x = header_;
  uint64_t rank = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->links[i].forward != nullptr &&
           !Before(node->score, node->member, x->links[i].forward->score,
                   x->links[i].forward->member)) {
      rank += x->links[i].span;
      x = x->links[i].forward;
    }
    if (x == node) return rank;
  }
  NINES_CHECK(false, "the rank of a node that is in the list");
  return 0;
}

const ScoreSkipList::Node* ScoreSkipList::AtRank(uint64_t rank) const {
  if (rank == 0 || rank > length_) return nullptr;
  const Node* x = header_;
  uint64_t traversed = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->links[i].forward != nullptr && traversed + x->links[i].span <= rank) {
      traversed += x->links[i].span;
      x = x->links[i].forward;
    }
    if (traversed == rank) return x;
  }
  return nullptr;
}

const ScoreSkipList::Node* ScoreSkipList::FirstInRange(const ScoreRange& range) const {
  if (range.Empty() || tail_ == nullptr || !range.AboveMin(tail_->score) ||
      !range.BelowMax(first()->score)) {
    return nullptr;
  }
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->links[i].forward != nullptr && !range.AboveMin(x->links[i].forward->score)) {
      x = x->links[i].forward;
    }
  }
  x = x->links[0].forward;
  return x != nullptr && range.BelowMax(x->score) ? x : nullptr;
}

const ScoreSkipList::Node* ScoreSkipList::LastInRange(const ScoreRange& range) const {
  if (range.Empty() || tail_ == nullptr || !range.AboveMin(tail_->score) ||
      !range.BelowMax(first()->score)) {
    return nullptr;
  }
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->links[i].forward != nullptr && range.BelowMax(x->links[i].forward->score)) {
      x = x->links[i].forward;
    }
  }
  return x != header_ && range.AboveMin(x->score) ? x : nullptr;
}

const ScoreSkipList::Node* ScoreSkipList::FirstInLexRange(const LexRange& range) const {
  if (range.Empty() || tail_ == nullptr || !range.AboveMin(tail_->member) ||
      !range.BelowMax(first()->member)) {
    return nullptr;
  }
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->links[i].forward != nullptr && !range.AboveMin(x->links[i].forward->member)) {
      x = x->links[i].forward;
    }
  }
  x = x->links[0].forward;
  return x != nullptr && range.BelowMax(x->member) ? x : nullptr;
}

const ScoreSkipList::Node* ScoreSkipList::LastInLexRange(const LexRange& range) const {
  if (range.Empty() || tail_ == nullptr || !range.AboveMin(tail_->member) ||
      !range.BelowMax(first()->member)) {
    return nullptr;
  }
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->links[i].forward != nullptr && range.BelowMax(x->links[i].forward->member)) {
      x = x->links[i].forward;
    }
  }
  return x != header_ && range.AboveMin(x->member) ? x : nullptr;
}

bool ScoreSkipList::Check() const {
  // Level 0: order, backward links, length.
  uint64_t count = 0;
  const Node* prev = nullptr;
  for (const Node* x = first(); x != nullptr; x = x->next()) {
    if (std::isnan(x->score) || x->backward != prev) return false;
    if (prev != nullptr && !Before(prev->score, prev->member, x->score, x->member)) return false;
    prev = x;
    ++count;
  }
  if (count != length_ || tail_ != prev) return false;
  // Every level: spans add up to the distance in level-0 positions.
  for (int i = 0; i < level_; ++i) {
    uint64_t position = 0;  // header is position 0
    const Node* x = header_;
    while (x->links[i].forward != nullptr) {
      const Node* target = x->links[i].forward;
      if (target->height <= i) return false;
      position += x->links[i].span;
      if (Rank(target) != position) return false;
      x = target;
    }
  }
  for (int i = level_; i < kMaxLevel; ++i) {
    if (header_->links[i].forward != nullptr) return false;
  }
  return true;
}

}  // namespace nines::store
