// List commands through the command table and the state machine: pushes and
// pops with counts, Redis's index rules, LINSERT/LREM/LTRIM/LPOS, LMOVE
// (including a rotation of one list), errors in Redis's order, and lists kept
// in snapshots.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/commands.h"
#include "store/kv_command.h"

namespace nines::store {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

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

TEST(ListCommandsTest, PushPopRange) {
  Member m;
  EXPECT_EQ(m.Run({"LPUSH", "l", "a", "b"}), ":2\r\n");
  EXPECT_EQ(m.Run({"RPUSH", "l", "c"}), ":3\r\n");
  EXPECT_EQ(m.Run({"LRANGE", "l", "0", "-1"}), "*3\r\n" + Bulk("b") + Bulk("a") + Bulk("c"));
  EXPECT_EQ(m.Run({"LPUSHX", "nokey", "a"}), ":0\r\n");
  EXPECT_EQ(m.Run({"LPOP", "l", "2"}), "*2\r\n" + Bulk("b") + Bulk("a"));
  EXPECT_EQ(m.Run({"LPOP", "l", "0"}), "*0\r\n");
  EXPECT_EQ(m.Run({"LPOP", "nokey", "1"}), "*-1\r\n");
  EXPECT_EQ(m.Run({"RPOP", "l"}), Bulk("c"));
  EXPECT_EQ(m.Run({"EXISTS", "l"}), ":0\r\n");  // an emptied list is no key
  EXPECT_EQ(m.Run({"LPOP", "l", "-1"}), "-ERR value is out of range, must be positive\r\n");
  EXPECT_EQ(m.Run({"LPOP", "l", "1", "2"}),
            "-ERR wrong number of arguments for 'lpop' command\r\n");
  EXPECT_EQ(m.Run({"LSET", "l", "0", "x"}), "-ERR no such key\r\n");
  m.Run({"RPUSH", "l", "a", "b", "a", "c"});
  EXPECT_EQ(m.Run({"LSET", "l", "9", "x"}), "-ERR index out of range\r\n");
  EXPECT_EQ(m.Run({"LINSERT", "l", "BEFORE", "c", "z"}), ":5\r\n");
  EXPECT_EQ(m.Run({"LINSERT", "l", "middle", "c", "z"}), "-ERR syntax error\r\n");
  EXPECT_EQ(m.Run({"LPOS", "l", "a", "RANK", "-1"}), ":2\r\n");
  EXPECT_EQ(m.Run({"LPOS", "l", "a", "COUNT", "0"}), "*2\r\n:0\r\n:2\r\n");
  EXPECT_EQ(m.Run({"LREM", "l", "-1", "a"}), ":1\r\n");
  EXPECT_EQ(m.Run({"LTRIM", "l", "1", "-1"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"LRANGE", "l", "0", "-1"}), "*3\r\n" + Bulk("b") + Bulk("z") + Bulk("c"));
  EXPECT_EQ(m.Run({"LINDEX", "l", "-1"}), Bulk("c"));
  EXPECT_EQ(m.Run({"LLEN", "l"}), ":3\r\n");
  EXPECT_EQ(m.Run({"TYPE", "l"}), "+list\r\n");
}

TEST(ListCommandsTest, MoveAndRotate) {
  Member m;
  m.Run({"RPUSH", "l", "a", "b", "c"});
  EXPECT_EQ(m.Run({"LMOVE", "l", "l", "LEFT", "RIGHT"}), Bulk("a"));
  EXPECT_EQ(m.Run({"LRANGE", "l", "0", "-1"}), "*3\r\n" + Bulk("b") + Bulk("c") + Bulk("a"));
  EXPECT_EQ(m.Run({"RPOPLPUSH", "l", "m"}), Bulk("a"));
  EXPECT_EQ(m.Run({"LMOVE", "l", "m", "up", "left"}), "-ERR syntax error\r\n");
  m.Run({"SET", "s", "v"});
  EXPECT_EQ(m.Run({"LMOVE", "l", "s", "LEFT", "LEFT"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(m.Run({"LLEN", "l"}), ":2\r\n");  // nothing popped
  m.Run({"RPUSH", "one", "x"});
  EXPECT_EQ(m.Run({"LMOVE", "one", "one", "LEFT", "LEFT"}), Bulk("x"));
  EXPECT_EQ(m.Run({"LLEN", "one"}), ":1\r\n");
}

TEST(ListCommandsTest, SnapshotKeepsLists) {
  Member m;
  m.Run({"RPUSH", "l", "a", std::string_view("\0b", 2), ""});
  m.Run({"ZADD", "z", "-inf", "m", "2.5", "n"});
  Member restored;
  ASSERT_TRUE(restored.state.Deserialize(m.state.Serialize()).ok());
  EXPECT_EQ(restored.Run({"LRANGE", "l", "0", "-1"}), m.Run({"LRANGE", "l", "0", "-1"}));
  EXPECT_EQ(restored.Run({"ZRANGE", "z", "0", "-1", "WITHSCORES"}),
            "*4\r\n" + Bulk("m") + Bulk("-inf") + Bulk("n") + Bulk("2.5"));
  EXPECT_EQ(restored.state.Serialize(), m.state.Serialize());
  EXPECT_EQ(restored.state.memory_bytes(), m.state.memory_bytes());
  EXPECT_TRUE(restored.state.CheckIndexes());
}

}  // namespace
}  // namespace nines::store
