// The RESP2 reply parser: every type, partial input, pipelined replies,
// malformed input and limits.
#include "app/resp_reply.h"

#include <gtest/gtest.h>

namespace nines::app {
namespace {

RespParse Parse(std::string_view in, RespReply* out, size_t* used, std::string* err,
                RespReplyLimits limits = {}) {
  return ParseRespReply(in, limits, out, used, err);
}

TEST(RespReply, EveryType) {
  RespReply r;
  size_t used = 0;
  std::string err;
  ASSERT_EQ(Parse("+OK\r\n", &r, &used, &err), RespParse::kReply);
  EXPECT_EQ(r.type, RespReply::Type::kSimple);
  EXPECT_EQ(r.text, "OK");
  EXPECT_EQ(used, 5u);
  ASSERT_EQ(Parse("-TRYAGAIN no leader\r\n", &r, &used, &err), RespParse::kReply);
  EXPECT_TRUE(r.IsError());
  EXPECT_EQ(r.text, "TRYAGAIN no leader");
  ASSERT_EQ(Parse(":-42\r\n", &r, &used, &err), RespParse::kReply);
  EXPECT_EQ(r.integer, -42);
  ASSERT_EQ(Parse("$5\r\nhe\r\no\r\n", &r, &used, &err), RespParse::kReply);
  EXPECT_EQ(r.type, RespReply::Type::kBulk);
  EXPECT_EQ(r.text, "he\r\no");
  ASSERT_EQ(Parse("$0\r\n\r\n", &r, &used, &err), RespParse::kReply);
  EXPECT_EQ(r.type, RespReply::Type::kBulk);
  EXPECT_EQ(r.text, "");
  ASSERT_EQ(Parse("$-1\r\n", &r, &used, &err), RespParse::kReply);
  EXPECT_TRUE(r.IsNil());
  ASSERT_EQ(Parse("*3\r\n$1\r\na\r\n$-1\r\n:7\r\n", &r, &used, &err), RespParse::kReply);
  ASSERT_EQ(r.elements.size(), 3u);
  EXPECT_EQ(r.elements[0].text, "a");
  EXPECT_TRUE(r.elements[1].IsNil());
  EXPECT_EQ(r.elements[2].integer, 7);
  EXPECT_EQ(r.Describe(), "[\"a\", (nil), (integer) 7]");
  ASSERT_EQ(Parse("*-1\r\n", &r, &used, &err), RespParse::kReply);
  EXPECT_TRUE(r.IsNil());
}

TEST(RespReply, EveryPrefixNeedsMore) {
  const std::string full = "*2\r\n$3\r\nfoo\r\n*1\r\n+OK\r\n";
  for (size_t n = 0; n < full.size(); ++n) {
    RespReply r;
    size_t used = 0;
    std::string err;
    EXPECT_EQ(Parse(full.substr(0, n), &r, &used, &err), RespParse::kNeedMore) << n;
  }
  RespReply r;
  size_t used = 0;
  std::string err;
  EXPECT_EQ(Parse(full, &r, &used, &err), RespParse::kReply);
  EXPECT_EQ(used, full.size());
}

TEST(RespReply, PipelinedRepliesOneAtATime) {
  std::string in = "+OK\r\n:1\r\n$-1\r\n";
  std::vector<std::string> seen;
  while (!in.empty()) {
    RespReply r;
    size_t used = 0;
    std::string err;
    ASSERT_EQ(Parse(in, &r, &used, &err), RespParse::kReply);
    seen.push_back(r.Describe());
    in.erase(0, used);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"OK", "(integer) 1", "(nil)"}));
}

TEST(RespReply, Malformed) {
  for (std::string bad : {"?x\r\n", "+OK\rX", ":12a\r\n", ":\r\n", "$-2\r\n", "$3\r\nabcd\r\n",
                          "*-5\r\n", ":99999999999999999999\r\n", "$x\r\n"}) {
    RespReply r;
    size_t used = 0;
    std::string err;
    EXPECT_EQ(Parse(bad, &r, &used, &err), RespParse::kError) << bad;
    EXPECT_FALSE(err.empty());
  }
}

TEST(RespReply, Limits) {
  RespReplyLimits limits;
  limits.max_bulk_bytes = 4;
  limits.max_array_len = 2;
  limits.max_depth = 2;
  limits.max_line_bytes = 8;
  RespReply r;
  size_t used = 0;
  std::string err;
  EXPECT_EQ(Parse("$5\r\n", &r, &used, &err, limits), RespParse::kError);
  EXPECT_EQ(Parse("*3\r\n", &r, &used, &err, limits), RespParse::kError);
  EXPECT_EQ(Parse("*1\r\n*1\r\n*1\r\n:1\r\n", &r, &used, &err, limits), RespParse::kError);
  EXPECT_EQ(Parse("+123456789", &r, &used, &err, limits), RespParse::kError);
  EXPECT_EQ(Parse("*1\r\n*1\r\n:1\r\n", &r, &used, &err, limits), RespParse::kReply);
}

TEST(RespReply, EncodesCommands) {
  std::string out;
  AppendRespCommand({"SET", "k", "a b", "NX"}, &out);
  EXPECT_EQ(out, "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na b\r\n$2\r\nNX\r\n");
}

}  // namespace
}  // namespace nines::app
