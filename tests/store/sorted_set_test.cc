// Sorted set values: the skip list's order, ranks and ranges against a plain
// std::set model under random operations; score and range parsing and the
// %.17g score replies as Redis 7.0 gives them.
#include "store/sorted_set.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace nines::store {
namespace {

using Ordered = std::set<std::pair<double, std::string>>;

std::vector<std::string> Members(const SortedSet& z) {
  std::vector<std::string> out;
  for (const auto* x = z.first(); x != nullptr; x = x->next()) out.push_back(x->member);
  return out;
}

TEST(SortedSetTest, OrdersByScoreThenMemberBytes) {
  SortedSet z;
  EXPECT_TRUE(z.Set("b", 1));
  EXPECT_TRUE(z.Set("a", 1));
  EXPECT_TRUE(z.Set("\xff", 0));
  EXPECT_TRUE(z.Set("c", -std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(z.Set("\x01", 1));
  EXPECT_EQ(Members(z), (std::vector<std::string>{"c", "\xff", "\x01", "a", "b"}));
  EXPECT_FALSE(z.Set("c", 2));  // moves to the end
  EXPECT_EQ(Members(z), (std::vector<std::string>{"\xff", "\x01", "a", "b", "c"}));
  EXPECT_EQ(z.RankOf(z.Find("a")), 2u);
  EXPECT_EQ(z.AtRank(4)->member, "c");
  EXPECT_EQ(z.AtRank(5), nullptr);
  EXPECT_EQ(*z.Score("c"), 2);
  EXPECT_TRUE(z.Check());
}

TEST(SortedSetTest, RandomOperationsMatchAModel) {
  std::mt19937_64 rng(7);
  SortedSet z;
  std::map<std::string, double> scores;
  Ordered model;
  for (int step = 0; step < 20000; ++step) {
    std::string member = "m" + std::to_string(rng() % 500);
    double score = static_cast<double>(static_cast<int>(rng() % 50)) / 4;
    switch (rng() % 4) {
      case 0:
      case 1: {
        auto it = scores.find(member);
        bool added = it == scores.end();
        if (!added) model.erase({it->second, member});
        scores[member] = score;
        model.insert({score, member});
        ASSERT_EQ(z.Set(member, score), added);
        break;
      }
      case 2: {
        auto it = scores.find(member);
        bool present = it != scores.end();
        if (present) {
          model.erase({it->second, member});
          scores.erase(it);
        }
        ASSERT_EQ(z.Erase(std::string_view(member)), present);
        break;
      }
      case 3: {
        ScoreRange r{score, score + 3, (rng() & 1) != 0, (rng() & 1) != 0};
        uint64_t expected = 0;
        const std::pair<double, std::string>* first = nullptr;
        const std::pair<double, std::string>* last = nullptr;
        for (const auto& e : model) {
          if (r.AboveMin(e.first) && r.BelowMax(e.first)) {
            ++expected;
            if (first == nullptr) first = &e;
            last = &e;
          }
        }
        ASSERT_EQ(z.CountInRange(r), expected);
        if (first != nullptr) {
          ASSERT_EQ(z.FirstInRange(r)->member, first->second);
          ASSERT_EQ(z.LastInRange(r)->member, last->second);
        } else {
          ASSERT_EQ(z.FirstInRange(r), nullptr);
          ASSERT_EQ(z.LastInRange(r), nullptr);
        }
        break;
      }
    }
    if (step % 1000 == 0) {
      ASSERT_TRUE(z.Check());
      uint64_t rank = 0;
      for (const auto& e : model) {
        const auto* node = z.AtRank(rank);
        ASSERT_NE(node, nullptr);
        ASSERT_EQ(node->member, e.second);
        ASSERT_EQ(node->score, e.first);
        ASSERT_EQ(z.RankOf(z.Find(e.second)), rank);
        ++rank;
      }
      ASSERT_EQ(z.size(), model.size());
    }
  }
  ASSERT_TRUE(z.Check());
}

TEST(SortedSetTest, LexRangesAsRedis) {
  SortedSet z;
  for (const char* m : {"a", "b", "c", "d", "e"}) z.Set(m, 0);
  LexRange r;
  ASSERT_TRUE(ParseLexRange("[b", "(d", &r));
  EXPECT_EQ(z.CountInLexRange(r), 2u);
  EXPECT_EQ(z.FirstInLexRange(r)->member, "b");
  EXPECT_EQ(z.LastInLexRange(r)->member, "c");
  ASSERT_TRUE(ParseLexRange("-", "+", &r));
  EXPECT_EQ(z.CountInLexRange(r), 5u);
  ASSERT_TRUE(ParseLexRange("+", "-", &r));
  EXPECT_EQ(z.CountInLexRange(r), 0u);
  ASSERT_TRUE(ParseLexRange("-", "-", &r));
  EXPECT_EQ(z.CountInLexRange(r), 0u);
  ASSERT_TRUE(ParseLexRange("(c", "[c", &r));
  EXPECT_EQ(z.CountInLexRange(r), 0u);
  ASSERT_TRUE(ParseLexRange("[c", "[c", &r));
  EXPECT_EQ(z.CountInLexRange(r), 1u);
  EXPECT_FALSE(ParseLexRange("b", "[c", &r));
  EXPECT_FALSE(ParseLexRange("[b", "++", &r));
  EXPECT_FALSE(ParseLexRange("", "+", &r));
}

TEST(SortedSetTest, LexRangesOverDifferentScoresWalkAsAListpack) {
  // Members out of lex order (scores differ): Redis's listpack gives up if the
  // tail is below min or the head above max, else takes the first member from
  // the head that is >= min, then the run while <= max (checked against
  // redis-server 7.0.15).
  SortedSet z;
  z.Set("c", 1);
  z.Set("a", 2);
  z.Set("d", 3);
  z.Set("b", 4);
  LexRange r;
  ASSERT_TRUE(ParseLexRange("[b", "[c", &r));
  EXPECT_EQ(z.FirstInLexRange(r)->member, "c");
  EXPECT_EQ(z.CountInLexRange(r), 2u);  // c, a; d ends the run
  EXPECT_EQ(z.LastInLexRange(r)->member, "b");
  ASSERT_TRUE(ParseLexRange("(a", "+", &r));
  EXPECT_EQ(z.CountInLexRange(r), 4u);
  ASSERT_TRUE(ParseLexRange("[d", "+", &r));
  EXPECT_EQ(z.FirstInLexRange(r), nullptr);  // the tail, b, is below min
  EXPECT_EQ(z.CountInLexRange(r), 0u);
}

TEST(SortedSetTest, EraseRunRemovesInOrder) {
  SortedSet z;
  for (int i = 0; i < 100; ++i) z.Set("m" + std::to_string(i), i);
  EXPECT_EQ(z.EraseRun(z.AtRank(10), 20), 20u);
  EXPECT_EQ(z.size(), 80u);
  EXPECT_EQ(z.AtRank(10)->member, "m30");
  EXPECT_EQ(z.EraseRun(z.AtRank(75), 20), 5u);
  EXPECT_TRUE(z.Check());
}

TEST(SortedSetTest, ParsesScoresAsRedis) {
  double v = 0;
  EXPECT_TRUE(ParseScore("1.5", &v));
  EXPECT_EQ(v, 1.5);
  EXPECT_TRUE(ParseScore("-inf", &v));
  EXPECT_TRUE(std::isinf(v) && v < 0);
  EXPECT_TRUE(ParseScore("+inf", &v));
  EXPECT_TRUE(ParseScore("0x10", &v));
  EXPECT_EQ(v, 16);
  EXPECT_FALSE(ParseScore("nan", &v));
  EXPECT_FALSE(ParseScore("", &v));
  EXPECT_FALSE(ParseScore(" 1", &v));
  EXPECT_FALSE(ParseScore("1 ", &v));
  EXPECT_FALSE(ParseScore("1e400", &v));
  EXPECT_FALSE(ParseScore("abc", &v));

  ScoreRange r;
  ASSERT_TRUE(ParseScoreRange("(1", "+inf", &r));
  EXPECT_TRUE(r.min_exclusive);
  EXPECT_FALSE(r.max_exclusive);
  EXPECT_TRUE(ParseScoreRange("-inf", "1e400", &r));  // strtod's inf is fine here
  EXPECT_FALSE(ParseScoreRange("(nan", "1", &r));
  EXPECT_FALSE(ParseScoreRange("((1", "1", &r));
  EXPECT_FALSE(ParseScoreRange("x", "1", &r));
}

TEST(SortedSetTest, FormatsScoresAsRedis70) {
  EXPECT_EQ(FormatScore(1.1), "1.1000000000000001");
  EXPECT_EQ(FormatScore(2), "2");
  EXPECT_EQ(FormatScore(-0.0), "-0");
  EXPECT_EQ(FormatScore(1e20), "1e+20");
  EXPECT_EQ(FormatScore(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatScore(-std::numeric_limits<double>::infinity()), "-inf");
}

}  // namespace
}  // namespace nines::store
