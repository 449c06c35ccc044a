// Sorted set commands through the command table and the state machine: ZADD's
// flags, %.17g scores, ranges by rank, score and lex, the STORE forms, and the
// replicated state: snapshots keep sorted sets exactly, and a member restored
// from a snapshot (whose skip list has another shape) answers and applies
// every later command the same as one that replayed the log.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "store/commands.h"
#include "store/kv_command.h"

namespace nines::store {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// One member that commits and applies every proposal at once.
struct Member {
  KvState state;
  uint64_t index = 0;
  CommandConfig config;
  ServerInfo info;
  ClientSession session;

  std::string Run(std::vector<std::string_view> args) {
    CommandPlan plan;
    std::string out;
    CommandContext context{&config, &info, kNow, state.memory_bytes()};
    PrepareCommand(args, session, context, &plan, &out);
    if (plan.kind == PlanKind::kRead) {
      ExecuteRead(plan, args, context, state, &out);
    } else if (plan.kind == PlanKind::kWrite) {
      FormatWriteReply(plan, state.Apply(++index, plan.proposal), &out);
    }
    return out;
  }
};

std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

TEST(ZsetCommandsTest, ZAddFlagsAndScores) {
  Member m;
  EXPECT_EQ(m.Run({"ZADD", "z", "1.1", "a", "2", "b", "inf", "c"}), ":3\r\n");
  EXPECT_EQ(m.Run({"ZSCORE", "z", "a"}), Bulk("1.1000000000000001"));
  EXPECT_EQ(m.Run({"ZSCORE", "z", "c"}), Bulk("inf"));
  EXPECT_EQ(m.Run({"ZADD", "z", "CH", "5", "a", "2", "b", "1", "d"}), ":2\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "GT", "CH", "1", "a"}), ":0\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "XX", "INCR", "1", "nope"}), "$-1\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "INCR", "-1", "a"}), Bulk("4"));
  EXPECT_EQ(m.Run({"ZINCRBY", "z", "-inf", "c"}), "-ERR resulting score is not a number (NaN)\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "nan", "x"}), "-ERR value is not a valid float\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "NX", "XX", "1", "x"}),
            "-ERR XX and NX options at the same time are not compatible\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "GT", "LT", "1", "x"}),
            "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "INCR", "1", "x", "2", "y"}),
            "-ERR INCR option supports a single increment-element pair\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "1", "a", "2"}), "-ERR syntax error\r\n");
  EXPECT_EQ(m.Run({"ZADD", "nokey", "XX", "1", "a"}), ":0\r\n");
  EXPECT_EQ(m.Run({"EXISTS", "nokey"}), ":0\r\n");
  EXPECT_EQ(m.Run({"SET", "s", "v"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"ZADD", "s", "1", "a"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(m.Run({"TYPE", "z"}), "+zset\r\n");
}

TEST(ZsetCommandsTest, Ranges) {
  Member m;
  m.Run({"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"});
  EXPECT_EQ(m.Run({"ZRANGE", "z", "1", "2", "WITHSCORES"}),
            "*4\r\n" + Bulk("b") + Bulk("2") + Bulk("c") + Bulk("3"));
  EXPECT_EQ(m.Run({"ZRANGE", "z", "(4", "2", "BYSCORE", "REV", "LIMIT", "1", "5"}),
            "*1\r\n" + Bulk("b"));
  EXPECT_EQ(m.Run({"ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "3", "-1"}),
            "*2\r\n" + Bulk("d") + Bulk("e"));
  EXPECT_EQ(m.Run({"ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"}),
            "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
            "BYLEX\r\n");
  EXPECT_EQ(m.Run({"ZCOUNT", "z", "(1", "4"}), ":3\r\n");
  EXPECT_EQ(m.Run({"ZCOUNT", "z", "x", "4"}), "-ERR min or max is not a float\r\n");
  EXPECT_EQ(m.Run({"ZRANK", "z", "c"}), ":2\r\n");
  EXPECT_EQ(m.Run({"ZREVRANK", "z", "c"}), ":2\r\n");
  EXPECT_EQ(m.Run({"ZREMRANGEBYRANK", "z", "0", "1"}), ":2\r\n");
  EXPECT_EQ(m.Run({"ZPOPMAX", "z", "2"}), "*4\r\n" + Bulk("e") + Bulk("5") + Bulk("d") + Bulk("4"));
  m.Run({"ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"});
  EXPECT_EQ(m.Run({"ZRANGEBYLEX", "lex", "[b", "(d"}), "*2\r\n" + Bulk("b") + Bulk("c"));
  EXPECT_EQ(m.Run({"ZLEXCOUNT", "lex", "-", "+"}), ":4\r\n");
  EXPECT_EQ(m.Run({"ZLEXCOUNT", "lex", "b", "+"}),
            "-ERR min or max not valid string range item\r\n");
  EXPECT_EQ(m.Run({"ZREMRANGEBYLEX", "lex", "-", "[b"}), ":2\r\n");
}

TEST(ZsetCommandsTest, StoreForms) {
  Member m;
  m.Run({"ZADD", "a", "1", "x", "2", "y"});
  m.Run({"ZADD", "b", "10", "y", "20", "z"});
  EXPECT_EQ(m.Run({"ZUNIONSTORE", "u", "2", "a", "b", "WEIGHTS", "2", "1"}), ":3\r\n");
  EXPECT_EQ(m.Run({"ZRANGE", "u", "0", "-1", "WITHSCORES"}),
            "*6\r\n" + Bulk("x") + Bulk("2") + Bulk("y") + Bulk("14") + Bulk("z") + Bulk("20"));
  EXPECT_EQ(m.Run({"ZINTERSTORE", "i", "2", "a", "b", "AGGREGATE", "MAX"}), ":1\r\n");
  EXPECT_EQ(m.Run({"ZSCORE", "i", "y"}), Bulk("10"));
  EXPECT_EQ(m.Run({"ZDIFFSTORE", "a", "2", "a", "b"}), ":1\r\n");  // destination is a source
  EXPECT_EQ(m.Run({"ZRANGE", "a", "0", "-1"}), "*1\r\n" + Bulk("x"));
  EXPECT_EQ(m.Run({"ZINTERSTORE", "i", "2", "a", "nokey"}), ":0\r\n");
  EXPECT_EQ(m.Run({"EXISTS", "i"}), ":0\r\n");
  EXPECT_EQ(m.Run({"ZUNIONSTORE", "u", "0", "a"}),
            "-ERR at least 1 input key is needed for 'zunionstore' command\r\n");
}

// A random workload of sorted set and list writes, reads answered the same
// by a member that replays the log and one restored from a snapshot half-way
// (its skip lists are built in another order, so they have another shape).
TEST(ZsetCommandsTest, SnapshotRestoredMemberAnswersTheSame) {
  std::mt19937_64 rng(11);
  std::vector<std::vector<std::string>> log;
  auto member = [&] { return std::string(1, static_cast<char>('a' + rng() % 12)); };
  auto score = [&] {
    const char* scores[] = {"0", "1", "2", "-1", "inf", "-inf", "0.5", "3"};
    return std::string(scores[rng() % 8]);
  };
  auto lex = [&] {
    const char* prefix[] = {"[", "(", "-", "+"};
    std::string p = prefix[rng() % 4];
    return p == "-" || p == "+" ? p : p + member();
  };
  for (int i = 0; i < 3000; ++i) {
    switch (rng() % 8) {
      case 0:
      case 1:
        log.push_back({"zadd", "z", score(), member(), score(), member()});
        break;
      case 2:
        log.push_back({"zincrby", "z", score(), member()});
        break;
      case 3:
        log.push_back({"zremrangebylex", "z", lex(), lex()});
        break;
      case 4:
        log.push_back({"zrangebylex", "z", lex(), lex()});
        break;
      case 5:
        log.push_back({"zrange", "z", "0", "-1", "withscores"});
        break;
      case 6:
        log.push_back({"rpush", "l", member()});
        break;
      case 7:
        log.push_back({"lrem", "l", "1", member()});
        break;
    }
  }
  auto run = [](Member& m, const std::vector<std::string>& args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    return m.Run(views);
  };
  Member replayed;
  Member restored;
  for (size_t i = 0; i < log.size(); ++i) {
    if (i == log.size() / 2) {
      ASSERT_TRUE(restored.state.Deserialize(replayed.state.Serialize()).ok());
      restored.index = replayed.index;
      ASSERT_EQ(restored.state.Serialize(), replayed.state.Serialize());
    }
    const std::string a = run(replayed, log[i]);
    if (i >= log.size() / 2) {
      ASSERT_EQ(run(restored, log[i]), a) << "command " << i;
    }
  }
  EXPECT_EQ(restored.state.Serialize(), replayed.state.Serialize());
  EXPECT_TRUE(replayed.state.CheckIndexes());
}

}  // namespace
}  // namespace nines::store
