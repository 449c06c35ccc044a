// List values: Redis's index rules (negative from the tail, clamped ranges),
// LTRIM, LINSERT, LREM in both directions and LPOS with RANK/COUNT/MAXLEN.
#include "store/string_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nines::store {
namespace {

StringList Make(std::vector<std::string> items) {
  StringList l;
  for (const auto& s : items) l.PushBack(s);
  return l;
}

std::vector<std::string> All(const StringList& l) {
  std::vector<std::string> out;
  for (uint64_t i = 0; i < l.size(); ++i) out.push_back(l[i]);
  return out;
}

TEST(StringListTest, IndexesAndRanges) {
  StringList l = Make({"a", "b", "c"});
  EXPECT_EQ(*l.At(0), "a");
  EXPECT_EQ(*l.At(-1), "c");
  EXPECT_EQ(l.At(3), nullptr);
  EXPECT_EQ(l.At(-4), nullptr);
  uint64_t first = 0;
  uint64_t last = 0;
  ASSERT_TRUE(l.ClampRange(-100, 100, &first, &last));
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(last, 2u);
  EXPECT_FALSE(l.ClampRange(2, 1, &first, &last));
  EXPECT_FALSE(l.ClampRange(5, 10, &first, &last));
  ASSERT_TRUE(l.ClampRange(-2, -1, &first, &last));
  EXPECT_EQ(first, 1u);
  EXPECT_TRUE(l.Set(-1, "cc"));
  EXPECT_FALSE(l.Set(3, "x"));
  EXPECT_EQ(All(l), (std::vector<std::string>{"a", "b", "cc"}));
  EXPECT_EQ(l.bytes(), 4u);
}

TEST(StringListTest, TrimInsertRemove) {
  StringList l = Make({"a", "b", "c", "d", "e"});
  l.Trim(1, -2);
  EXPECT_EQ(All(l), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_TRUE(l.Insert(true, "c", "x"));
  EXPECT_TRUE(l.Insert(false, "d", "y"));
  EXPECT_FALSE(l.Insert(false, "zz", "y"));
  EXPECT_EQ(All(l), (std::vector<std::string>{"b", "x", "c", "d", "y"}));
  l.Trim(3, 1);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.bytes(), 0u);

  l = Make({"a", "x", "a", "x", "a"});
  EXPECT_EQ(l.Remove(-2, "a"), 2u);
  EXPECT_EQ(All(l), (std::vector<std::string>{"a", "x", "x"}));
  EXPECT_EQ(l.Remove(1, "x"), 1u);
  EXPECT_EQ(l.Remove(0, "x"), 1u);
  EXPECT_EQ(All(l), (std::vector<std::string>{"a"}));
  EXPECT_EQ(l.Remove(INT64_MIN, "a"), 1u);
}

TEST(StringListTest, PositionsAsLpos) {
  StringList l = Make({"a", "b", "c", "1", "2", "3", "c", "c"});
  using V = std::vector<uint64_t>;
  EXPECT_EQ(l.Positions("c", 1, 1, 0), V{2});
  EXPECT_EQ(l.Positions("c", 2, 1, 0), V{6});
  EXPECT_EQ(l.Positions("c", -1, 1, 0), V{7});
  EXPECT_EQ(l.Positions("c", 1, 0, 0), (V{2, 6, 7}));
  EXPECT_EQ(l.Positions("c", -1, 2, 0), (V{7, 6}));
  EXPECT_EQ(l.Positions("c", 1, 0, 3), V{2});
  EXPECT_EQ(l.Positions("c", 1, 0, 2), V{});
  EXPECT_EQ(l.Positions("c", 4, 1, 0), V{});
}

}  // namespace
}  // namespace nines::store
