// StringMatchLen against the cases of Redis's own util.c tests and the edge
// cases where a hand-written glob usually differs from Redis: empty text,
// unterminated classes, escapes at the end, ranges written backwards, nocase,
// and patterns that would take exponential time without skipLongerMatches.
#include "store/glob_match.h"

#include <gtest/gtest.h>

#include <string>

namespace nines::store {
namespace {

TEST(GlobMatch, Literals) {
  EXPECT_TRUE(StringMatchLen("hello", "hello"));
  EXPECT_FALSE(StringMatchLen("hello", "hellO"));
  EXPECT_FALSE(StringMatchLen("hello", "hell"));
  EXPECT_FALSE(StringMatchLen("hell", "hello"));
  EXPECT_TRUE(StringMatchLen("", ""));
  EXPECT_FALSE(StringMatchLen("", "a"));
}

TEST(GlobMatch, Stars) {
  EXPECT_TRUE(StringMatchLen("*", "anything"));
  EXPECT_TRUE(StringMatchLen("news.*", "news.sport"));
  EXPECT_TRUE(StringMatchLen("news.*", "news."));
  EXPECT_FALSE(StringMatchLen("news.*", "news"));
  EXPECT_TRUE(StringMatchLen("a*b*c", "axxbyyc"));
  EXPECT_FALSE(StringMatchLen("a*b*c", "axxbyy"));
  EXPECT_TRUE(StringMatchLen("***a", "ba"));
  EXPECT_TRUE(StringMatchLen("a**", "a"));
}

TEST(GlobMatch, EmptyTextIsMatchedByNoPattern) {
  // Redis's loop never runs on an empty string: "*" does not match "".
  EXPECT_FALSE(StringMatchLen("*", ""));
  EXPECT_FALSE(StringMatchLen("**", ""));
  EXPECT_FALSE(StringMatchLen("?", ""));
}

TEST(GlobMatch, QuestionMarkAndClasses) {
  EXPECT_TRUE(StringMatchLen("h?llo", "hello"));
  EXPECT_TRUE(StringMatchLen("h?llo", "hallo"));
  EXPECT_FALSE(StringMatchLen("h?llo", "hllo"));
  EXPECT_TRUE(StringMatchLen("h[ae]llo", "hallo"));
  EXPECT_FALSE(StringMatchLen("h[ae]llo", "hillo"));
  EXPECT_TRUE(StringMatchLen("h[^e]llo", "hallo"));
  EXPECT_FALSE(StringMatchLen("h[^e]llo", "hello"));
  EXPECT_TRUE(StringMatchLen("h[a-b]llo", "hbllo"));
  EXPECT_FALSE(StringMatchLen("h[a-b]llo", "hcllo"));
  EXPECT_TRUE(StringMatchLen("[z-a]", "m"));  // a backwards range is swapped
  EXPECT_TRUE(StringMatchLen("[a-]", "]"));   // "a-]" is the range a..']'
  EXPECT_TRUE(StringMatchLen("[\\]]", "]"));
  EXPECT_TRUE(StringMatchLen("[]", "]") == false);
}

TEST(GlobMatch, UnterminatedClassEndsAtThePatternsEnd) {
  EXPECT_TRUE(StringMatchLen("[abc", "a"));
  EXPECT_FALSE(StringMatchLen("[abc", "d"));
  EXPECT_TRUE(StringMatchLen("x[", "x") == false);
}

TEST(GlobMatch, Escapes) {
  EXPECT_TRUE(StringMatchLen("\\*", "*"));
  EXPECT_FALSE(StringMatchLen("\\*", "a"));
  EXPECT_TRUE(StringMatchLen("a\\?", "a?"));
  EXPECT_FALSE(StringMatchLen("a\\?", "ab"));
  EXPECT_TRUE(StringMatchLen("a\\", "a\\"));  // a trailing backslash is literal
}

TEST(GlobMatch, NoCase) {
  EXPECT_TRUE(StringMatchLen("HeLLo", "hello", true));
  EXPECT_TRUE(StringMatchLen("[A-C]x", "bX", true));
  EXPECT_FALSE(StringMatchLen("[A-C]x", "bX", false));
}

TEST(GlobMatch, RangesCompareSignedCharsAsRedis) {
  // Redis reads pattern and text as (signed) char: 0x80..0xff sort below 0.
  EXPECT_TRUE(StringMatchLen("[\x80-a]", "0"));
  EXPECT_FALSE(StringMatchLen("[a-\xff]", "z"));
}

TEST(GlobMatch, ManyStarsStayPolynomial) {
  // Without skipLongerMatches this takes about 40^20 steps.
  std::string pattern;
  for (int i = 0; i < 20; ++i) pattern += "*a";
  pattern += "b";
  EXPECT_FALSE(StringMatchLen(pattern, std::string(40, 'a')));
}

TEST(GlobMatch, NestingBeyondTheLimitMatchesNothing) {
  std::string pattern;
  for (int i = 0; i < 1100; ++i) pattern += "a*";
  std::string text(1200, 'a');
  EXPECT_FALSE(StringMatchLen(pattern, text));
  std::string shallow;
  for (int i = 0; i < 900; ++i) shallow += "a*";
  EXPECT_TRUE(StringMatchLen(shallow, text));
}

}  // namespace
}  // namespace nines::store
