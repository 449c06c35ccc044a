// The RESP2 codec: multibulk and inline requests, pipelining, every input cut
// at every byte (and fed byte at a time), limits with Redis's error texts, and
// reply encoding.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "store/resp_parser.h"
#include "store/resp_writer.h"

namespace nines::store::resp {
namespace {

using Args = std::vector<std::string>;

struct Outcome {
  std::vector<Args> commands;
  std::string error;     // empty if none
  bool complete = true;  // false if input ended mid-command
};

// Feeds input in chunks of `chunk` bytes, as a connection would.
Outcome Feed(std::string_view input, size_t chunk, Limits limits = {}) {
  RequestParser parser(limits);
  Outcome outcome;
  std::string buffer;
  size_t fed = 0;
  while (true) {
    ParseResult r = parser.Parse(buffer);
    if (r == ParseResult::kCommand) {
      outcome.commands.emplace_back(parser.args().begin(), parser.args().end());
      buffer.erase(0, parser.consumed());
      continue;
    }
    if (r == ParseResult::kError) {
      outcome.error = parser.error();
      return outcome;
    }
    buffer.erase(0, parser.consumed());
    if (fed >= input.size()) break;
    size_t n = std::min(chunk, input.size() - fed);
    buffer.append(input.substr(fed, n));
    fed += n;
  }
  outcome.complete = buffer.empty();
  return outcome;
}

std::string Multibulk(const Args& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

TEST(RespParser, SingleMultibulkCommand) {
  Outcome o = Feed("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", 1 << 20);
  ASSERT_TRUE(o.error.empty());
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0], (Args{"SET", "k", "hello"}));
}

TEST(RespParser, BinarySafeBulk) {
  std::string value("a\r\n\0b", 5);
  Outcome o = Feed(Multibulk({"SET", "k", value}), 1 << 20);
  ASSERT_EQ(o.commands.size(), 1u);
  EXPECT_EQ(o.commands[0][2], value);
}

TEST(RespParser, PipelinedAndMixedWithInlineAndEmpties) {
  std::string input = Multibulk({"PING"}) + "PING\r\n" + "*0\r\n" + "*-1\r\n" + "\r\n" + "   \n" +
                      Multibulk({"GET", "a"}) + "ECHO hi\n" + Multibulk({"DEL", "a", "b", ""});
  std::vector<Args> expected = {
      {"PING"}, {"PING"}, {"GET", "a"}, {"ECHO", "hi"}, {"DEL", "a", "b", ""}};
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, input.size()}) {
    Outcome o = Feed(input, chunk);
    EXPECT_TRUE(o.error.empty()) << o.error;
    EXPECT_EQ(o.commands, expected) << "chunk " << chunk;
    EXPECT_TRUE(o.complete);
  }
}

TEST(RespParser, EveryCutPointGivesTheSameCommands) {
  std::string input = Multibulk({"SET", "key", std::string(300, 'v')}) +
                      Multibulk({"MSET", "a", "1", "b", "2"}) + "SET \"x y\" 'z'\r\n";
  std::vector<Args> expected = {
      {"SET", "key", std::string(300, 'v')}, {"MSET", "a", "1", "b", "2"}, {"SET", "x y", "z"}};
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    RequestParser parser;
    std::vector<Args> got;
    std::string buffer = input.substr(0, cut);
    for (int round = 0; round < 2; ++round) {
      while (true) {
        ParseResult r = parser.Parse(buffer);
        ASSERT_NE(r, ParseResult::kError) << parser.error();
        if (r == ParseResult::kNeedMore) {
          buffer.erase(0, parser.consumed());
          break;
        }
        got.emplace_back(parser.args().begin(), parser.args().end());
        buffer.erase(0, parser.consumed());
      }
      buffer += input.substr(cut);
      if (round == 0 && cut == input.size()) break;
    }
    EXPECT_EQ(got, expected) << "cut " << cut;
  }
}

TEST(RespParser, PartialCommandIsNotConsumed) {
  RequestParser parser;
  std::string buffer = "*2\r\n$3\r\nGET\r\n$3\r\nke";
  EXPECT_EQ(parser.Parse(buffer), ParseResult::kNeedMore);
  EXPECT_EQ(parser.consumed(), 0u);
  buffer += "y\r\n";
  ASSERT_EQ(parser.Parse(buffer), ParseResult::kCommand);
  EXPECT_EQ(parser.consumed(), buffer.size());
  EXPECT_EQ(parser.args()[1], "key");
}

TEST(RespParser, SkippedEmptiesAreReleasedWhileWaiting) {
  // A client sending only empty lines must not grow the buffer forever.
  RequestParser parser;
  std::string buffer = "\r\n\r\n*0\r\n\r\nPI";
  EXPECT_EQ(parser.Parse(buffer), ParseResult::kNeedMore);
  EXPECT_EQ(parser.consumed(), buffer.size() - 2);
}

TEST(RespParser, InlineQuotingLikeSdssplitargs) {
  auto one = [](std::string_view line) {
    Outcome o = Feed(line, 1 << 20);
    EXPECT_TRUE(o.error.empty()) << line << ": " << o.error;
    return o.commands.empty() ? Args{} : o.commands[0];
  };
  EXPECT_EQ(one("SET k \"a b\"\r\n"), (Args{"SET", "k", "a b"}));
  EXPECT_EQ(one("ECHO \"a\\x41\\n\\t\\\"\"\n"), (Args{"ECHO", "aA\n\t\""}));
  EXPECT_EQ(one("ECHO 'it\\'s'\n"), (Args{"ECHO", "it's"}));
  EXPECT_EQ(one("ECHO ''\n"), (Args{"ECHO", ""}));
  EXPECT_EQ(one("  PING   \r\n"), (Args{"PING"}));
  EXPECT_EQ(one("ECHO a\"b c\"\n"), (Args{"ECHO", "ab c"}));
  for (const char* bad : {"SET \"a b\r\n", "ECHO \"a\"b\r\n", "ECHO 'a\r\n", "ECHO 'a'b\n"}) {
    Outcome o = Feed(bad, 1 << 20);
    EXPECT_EQ(o.error, "Protocol error: unbalanced quotes in request") << bad;
  }
}

TEST(RespParser, ProtocolErrorsUseRedisTexts) {
  auto error = [](std::string_view input, Limits limits = {}) {
    return Feed(input, 1 << 20, limits).error;
  };
  EXPECT_EQ(error("*1\r\n$-5\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(error("*1\r\n$abc\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(error("*1\r\n$\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(error("*1\r\n$04\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(error("*abc\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(error("*\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(error("*+1\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(error("*01\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(error("*2\r\nxx\r\n"), "Protocol error: expected '$', got 'x'");
  EXPECT_EQ(error("*1\r\n$4\r\nPINGxx"), "Protocol error: expected CRLF after bulk data");
  Limits small;
  small.max_bulk_len = 10;
  small.max_array_len = 3;
  small.max_inline_len = 32;
  small.max_request_bytes = 40;
  EXPECT_EQ(error("*1\r\n$11\r\n", small), "Protocol error: invalid bulk length");
  EXPECT_TRUE(error("*1\r\n$10\r\n0123456789\r\n", small).empty());
  EXPECT_EQ(error("*4\r\n", small), "Protocol error: invalid multibulk length");
  EXPECT_EQ(error(std::string(33, 'a'), small), "Protocol error: too big inline request");
  EXPECT_EQ(error(std::string(33, 'a') + "\n", small), "Protocol error: too big inline request");
  EXPECT_EQ(error("*" + std::string(40, '1'), small), "Protocol error: too big mbulk count string");
  EXPECT_EQ(error("*1\r\n$" + std::string(40, '1'), small),
            "Protocol error: too big bulk count string");
  EXPECT_EQ(error("*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n", small),
            "Protocol error: too big request");
}

TEST(RespParser, RandomSplitsMatchWholeParse) {
  std::mt19937 rng(11);
  std::string input;
  std::vector<Args> expected;
  for (int i = 0; i < 200; ++i) {
    Args args;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 5); k < n; ++k) {
      std::string a(rng() % 20, '\0');
      for (char& c : a) c = static_cast<char>(rng());
      args.push_back(a);
    }
    input += Multibulk(args);
    expected.push_back(args);
  }
  for (int trial = 0; trial < 20; ++trial) {
    Outcome o = Feed(input, 1 + rng() % 64);
    ASSERT_TRUE(o.error.empty());
    ASSERT_EQ(o.commands, expected);
  }
}

TEST(ReplyWriter, EncodesEveryType) {
  std::string out;
  ReplyWriter w(&out);
  w.SimpleString("OK");
  w.Error("ERR syntax error");
  w.Integer(-42);
  w.Integer(INT64_MIN);
  w.Bulk(std::string("a\0b", 3));
  w.Bulk("");
  w.NullBulk();
  w.ArrayHeader(2);
  w.NullArray();
  w.Error("ERR bad\r\nthing");
  using namespace std::string_literals;
  EXPECT_EQ(out,
            "+OK\r\n-ERR syntax error\r\n:-42\r\n:-9223372036854775808\r\n"
            "$3\r\na\0b\r\n$0\r\n\r\n$-1\r\n*2\r\n*-1\r\n-ERR bad  thing\r\n"s);
}

}  // namespace
}  // namespace nines::store::resp
