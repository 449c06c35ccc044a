// The blocking commands through the command table and the state machine, as
// they run inside MULTI and as each pop the leader proposes: the pop itself,
// Redis's reply shapes (nil array when nothing is there), timeout errors in
// Redis's order; and the element bounds of every type.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/blocking_commands.h"
#include "store/commands.h"

namespace nines::store {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

struct Member {
  KvState state;
  uint64_t index = 0;
  CommandConfig config;
  ServerInfo info;
  ClientSession session;
  CommandPlan plan;

  std::string Run(std::vector<std::string_view> args) {
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

TEST(BlockingCommandsTest, PopsAndReplyShapes) {
  Member m;
  EXPECT_EQ(m.Run({"BLPOP", "a", "b", "0"}), "*-1\r\n");
  EXPECT_TRUE(m.plan.block);
  EXPECT_EQ(m.plan.block_timeout_ms, 0);
  m.Run({"RPUSH", "b", "x", "y"});
  EXPECT_EQ(m.Run({"BLPOP", "a", "b", "1.5"}), "*2\r\n" + Bulk("b") + Bulk("x"));
  EXPECT_EQ(m.plan.block_timeout_ms, 1500);
  EXPECT_EQ(m.Run({"BRPOP", "b", "0.0001"}), "*2\r\n" + Bulk("b") + Bulk("y"));
  EXPECT_EQ(m.plan.block_timeout_ms, 1);  // rounded up, as Redis
  EXPECT_EQ(m.Run({"EXISTS", "b"}), ":0\r\n");

  EXPECT_EQ(m.Run({"BRPOPLPUSH", "src", "dst", "0"}), "$-1\r\n");
  EXPECT_TRUE(PoppedNothing(KvResult::Nil()));
  m.Run({"RPUSH", "src", "1", "2"});
  EXPECT_EQ(m.Run({"BRPOPLPUSH", "src", "dst", "0"}), Bulk("2"));
  EXPECT_EQ(m.Run({"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"}), Bulk("1"));
  EXPECT_EQ(m.Run({"LRANGE", "dst", "0", "-1"}), "*2\r\n" + Bulk("2") + Bulk("1"));

  EXPECT_EQ(m.Run({"BZPOPMIN", "z", "0"}), "*-1\r\n");
  m.Run({"ZADD", "z", "1", "one", "2", "two"});
  EXPECT_EQ(m.Run({"BZPOPMAX", "nothing", "z", "0"}),
            "*3\r\n" + Bulk("z") + Bulk("two") + Bulk("2"));
  EXPECT_EQ(m.Run({"BZPOPMIN", "z", "0"}), "*3\r\n" + Bulk("z") + Bulk("one") + Bulk("1"));
}

TEST(BlockingCommandsTest, ErrorsInRedisOrder) {
  Member m;
  EXPECT_EQ(m.Run({"BLPOP", "a", "-1"}), "-ERR timeout is negative\r\n");
  EXPECT_EQ(m.Run({"BLPOP", "a", "x"}), "-ERR timeout is not a float or out of range\r\n");
  EXPECT_EQ(m.Run({"BLPOP", "a", "nan"}), "-ERR timeout is not a float or out of range\r\n");
  EXPECT_EQ(m.Run({"BLPOP", "a", "inf"}), "-ERR timeout is negative\r\n");  // as Redis 7.0
  EXPECT_EQ(m.Run({"BLPOP", "a", "1e300"}), "-ERR timeout is negative\r\n");
  EXPECT_EQ(m.Run({"BLPOP", "a"}), "-ERR wrong number of arguments for 'blpop' command\r\n");
  EXPECT_EQ(m.Run({"BLMOVE", "a", "b", "UP", "LEFT", "-1"}), "-ERR syntax error\r\n");
  EXPECT_EQ(m.Run({"BZPOPMIN", "a", "-0.5"}), "-ERR timeout is negative\r\n");
  m.Run({"SET", "s", "v"});
  m.Run({"RPUSH", "l", "v"});
  const std::string wrong =
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  EXPECT_EQ(m.Run({"BLPOP", "s", "l", "0"}), wrong);
  EXPECT_EQ(m.Run({"BLPOP", "l", "s", "0"}), "*2\r\n" + Bulk("l") + Bulk("v"));
  EXPECT_EQ(m.Run({"BZPOPMIN", "s", "0"}), wrong);
  EXPECT_EQ(m.Run({"BRPOPLPUSH", "s", "d", "0"}), wrong);
}

TEST(BlockingCommandsTest, TheLeaderPopsFromTheKeyThatGotAValue) {
  std::vector<std::string> blpop = {"BLPOP", "a", "b", "5"};
  EXPECT_EQ(BlockedKeys(blpop), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(PopFromKeyArgs(blpop, "b"), (std::vector<std::string>{"BLPOP", "b", "0"}));
  std::vector<std::string> blmove = {"blmove", "s", "d", "LEFT", "RIGHT", "5"};
  EXPECT_EQ(BlockedKeys(blmove), (std::vector<std::string>{"s"}));
  EXPECT_EQ(PopFromKeyArgs(blmove, "s"),
            (std::vector<std::string>{"blmove", "s", "d", "LEFT", "RIGHT", "0"}));
  EXPECT_EQ(BlockedType("BZPOPMIN"), ValueType::kZset);
  EXPECT_EQ(BlockedType("brpop"), ValueType::kList);
}

TEST(BlockingCommandsTest, ElementBoundsOfEveryType) {
  Member m;
  m.config.max_list_elements = 3;
  m.config.max_hash_fields = 2;
  m.config.max_set_members = 2;
  m.config.max_zset_members = 2;
  EXPECT_EQ(m.Run({"RPUSH", "l", "1", "2", "3"}), ":3\r\n");
  EXPECT_EQ(m.Run({"RPUSH", "l", "4"}),
            "-ERR too many list elements: the limit is 3 (max_list_elements in store.toml)\r\n");
  EXPECT_EQ(m.Run({"LINSERT", "l", "BEFORE", "1", "0"}).substr(0, 24), "-ERR too many list eleme");
  EXPECT_EQ(m.Run({"LPUSH", "new", "1", "2", "3", "4"}).substr(0, 9), "-ERR too ");
  EXPECT_EQ(m.Run({"EXISTS", "new"}), ":0\r\n");  // nothing was created
  EXPECT_EQ(m.Run({"HSET", "h", "a", "1", "b", "2"}), ":2\r\n");
  EXPECT_EQ(m.Run({"HSET", "h", "a", "3"}), ":0\r\n");  // overwriting is fine
  EXPECT_EQ(m.Run({"HSET", "h", "c", "3"}),
            "-ERR too many hash fields: the limit is 2 (max_hash_fields in store.toml)\r\n");
  EXPECT_EQ(m.Run({"HSETNX", "h", "c", "3"}).substr(0, 9), "-ERR too ");
  EXPECT_EQ(m.Run({"SADD", "s", "a", "b", "a"}), ":2\r\n");
  EXPECT_EQ(m.Run({"SADD", "s", "c"}).substr(0, 22), "-ERR too many set memb");
  EXPECT_EQ(m.Run({"ZADD", "z", "1", "a", "2", "b"}), ":2\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "XX", "5", "c"}), ":0\r\n");
  EXPECT_EQ(m.Run({"ZADD", "z", "3", "c"}).substr(0, 23), "-ERR too many zset memb");
  EXPECT_EQ(m.Run({"SADD", "s2", "x"}), ":1\r\n");
  EXPECT_EQ(m.Run({"SUNIONSTORE", "d", "s", "s2"}).substr(0, 22), "-ERR too many set memb");
  EXPECT_EQ(m.Run({"ZUNIONSTORE", "d", "2", "z", "s2"}).substr(0, 23), "-ERR too many zset memb");
  EXPECT_EQ(m.state.element_limit_refusals(), 9u);
}

// HINCRBY and HINCRBYFLOAT on a new field add one, as HSET does.
TEST(BlockingCommandsTest, HashIncrementsOnANewFieldRespectTheBound) {
  Member m;
  m.config.max_hash_fields = 2;
  const std::string refused =
      "-ERR too many hash fields: the limit is 2 (max_hash_fields in store.toml)\r\n";
  EXPECT_EQ(m.Run({"HINCRBY", "h", "a", "1"}), ":1\r\n");
  EXPECT_EQ(m.Run({"HINCRBYFLOAT", "h", "b", "1.5"}), Bulk("1.5"));
  EXPECT_EQ(m.Run({"HINCRBY", "h", "c", "1"}), refused);
  EXPECT_EQ(m.Run({"HINCRBYFLOAT", "h", "c", "1"}), refused);
  EXPECT_EQ(m.Run({"HLEN", "h"}), ":2\r\n");
  EXPECT_EQ(m.Run({"HEXISTS", "h", "c"}), ":0\r\n");
  // Existing fields still change.
  EXPECT_EQ(m.Run({"HINCRBY", "h", "a", "2"}), ":3\r\n");
  EXPECT_EQ(m.Run({"HINCRBYFLOAT", "h", "b", "1"}), Bulk("2.5"));
  // Argument errors come first, as in Redis; nothing is created on refusal.
  EXPECT_EQ(m.Run({"HINCRBY", "h", "c", "x"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(m.Run({"HINCRBYFLOAT", "h", "c", "x"}), "-ERR value is not a valid float\r\n");
  m.config.max_hash_fields = 0;  // 0 in a proposed command: no bound (entries written before)
  EXPECT_EQ(m.Run({"HINCRBY", "h", "c", "1"}), ":1\r\n");
  EXPECT_EQ(m.state.element_limit_refusals(), 2u);
}

TEST(BlockingCommandsTest, MaxmemoryRefusesGrowingWritesOnly) {
  Member m;
  m.Run({"SET", "k", std::string(100, 'x')});
  m.config.max_memory_bytes = 10;
  const std::string oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
  EXPECT_EQ(m.Run({"SET", "j", "v"}), oom);
  EXPECT_EQ(m.Run({"RPUSH", "l", "v"}), oom);
  EXPECT_EQ(m.Run({"BLMOVE", "a", "b", "LEFT", "LEFT", "0"}), oom);  // denyoom, as Redis
  EXPECT_EQ(m.Run({"GET", "k"}), Bulk(std::string(100, 'x')));
  EXPECT_EQ(m.Run({"BLPOP", "l", "0"}), "*-1\r\n");  // pops go on
  EXPECT_EQ(m.Run({"DEL", "k"}), ":1\r\n");
  EXPECT_EQ(m.Run({"SET", "j", "v"}), "+OK\r\n");
  m.info.role = "follower";  // only the leader decides: a follower forwards
  m.Run({"SET", "k", std::string(100, 'x')});
  EXPECT_EQ(m.Run({"SET", "j", "v"}), "+OK\r\n");
}

}  // namespace
}  // namespace nines::store
