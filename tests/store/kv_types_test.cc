// Typed values in the state machine (hashes, sets, and the keyspace commands
// that move or copy them): applied through the command table with a
// replicator that applies each proposal at once, checked for Redis's replies,
// exact memory accounting and indexes after every command, TTLs on every
// type, snapshot round trips of each type, and determinism: two members
// applying the same log (one restored from a snapshot midway) pop the same
// SPOP members and end with the same snapshot bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "local_member.h"
#include "resp_replies.h"
#include "store/kv_state.h"

namespace nines::store {
namespace {

using testing::Bulk;
using testing::Err;
using testing::Int;
using testing::kT0;
using Member = testing::LocalMember;

const std::string kWrongType = Err(kErrWrongType);

TEST(KvTypes, HashCommands) {
  Member m;
  EXPECT_EQ(m.Run({"HSET", "h", "a", "1", "b", "2"}), Int(2));
  EXPECT_EQ(m.Run({"HSET", "h", "a", "x", "c", "3"}), Int(1));
  EXPECT_EQ(m.Run({"HGET", "h", "a"}), Bulk("x"));
  EXPECT_EQ(m.Run({"HMGET", "h", "a", "zz"}), "*2\r\n" + Bulk("x") + "$-1\r\n");
  EXPECT_EQ(m.Run({"HLEN", "h"}), Int(3));
  EXPECT_EQ(m.Run({"HGETALL", "h"}),
            "*6\r\n" + Bulk("a") + Bulk("x") + Bulk("b") + Bulk("2") + Bulk("c") + Bulk("3"));
  EXPECT_EQ(m.Run({"HSETNX", "h", "a", "y"}), Int(0));
  EXPECT_EQ(m.Run({"HINCRBY", "h", "b", "40"}), Int(42));
  EXPECT_EQ(m.Run({"HINCRBY", "h", "a", "1"}), Err("ERR hash value is not an integer"));
  EXPECT_EQ(m.Run({"HINCRBYFLOAT", "h", "f", "0.1"}), Bulk("0.1"));
  EXPECT_EQ(m.Run({"HINCRBYFLOAT", "h", "f", "1e2"}), Bulk("100.1"));
  EXPECT_EQ(m.Run({"HSET", "h", "odd"}), Err("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(m.Run({"TYPE", "h"}), "+hash\r\n");
  EXPECT_EQ(m.Run({"GET", "h"}), kWrongType);
  EXPECT_EQ(m.Run({"SADD", "h", "m"}), kWrongType);
  EXPECT_EQ(m.Run({"HDEL", "h", "a", "b", "c", "f"}), Int(4));
  EXPECT_EQ(m.Run({"EXISTS", "h"}), Int(0)) << "an emptied hash is no key";
  EXPECT_EQ(m.state.memory_bytes(), 0u);
}

TEST(KvTypes, SetCommandsAndAlgebra) {
  Member m;
  EXPECT_EQ(m.Run({"SADD", "a", "1", "2", "3"}), Int(3));
  EXPECT_EQ(m.Run({"SADD", "b", "2", "3", "4"}), Int(3));
  EXPECT_EQ(m.Run({"SINTERCARD", "2", "a", "b"}), Int(2));
  EXPECT_EQ(m.Run({"SINTERSTORE", "c", "a", "b"}), Int(2));
  EXPECT_EQ(m.Run({"SMEMBERS", "c"}), "*2\r\n" + Bulk("2") + Bulk("3"));
  EXPECT_EQ(m.Run({"SDIFFSTORE", "a", "a", "b"}), Int(1)) << "a destination that is a source";
  EXPECT_EQ(m.Run({"SMEMBERS", "a"}), "*1\r\n" + Bulk("1"));
  EXPECT_EQ(m.Run({"SMOVE", "a", "b", "1"}), Int(1));
  EXPECT_EQ(m.Run({"EXISTS", "a"}), Int(0));
  EXPECT_EQ(m.Run({"SCARD", "b"}), Int(4));
  EXPECT_EQ(m.Run({"SET", "s", "v"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"SINTER", "b", "s"}), kWrongType);
  EXPECT_EQ(m.Run({"SPOP", "b", "-1"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(m.Run({"SPOP", "b", "10"}).substr(0, 4), "*4\r\n");
  EXPECT_EQ(m.Run({"EXISTS", "b"}), Int(0));
}

TEST(KvTypes, TtlAppliesToEveryTypeAndMovesWithRename) {
  Member m;
  m.Run({"HSET", "h", "f", "v"});
  m.Run({"SADD", "s", "m"});
  EXPECT_EQ(m.Run({"PEXPIRE", "h", "1000"}), Int(1));
  EXPECT_EQ(m.Run({"PEXPIRE", "s", "2000"}), Int(1));
  EXPECT_EQ(m.Run({"RENAME", "s", "t"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"PTTL", "t"}), Int(2000));
  EXPECT_EQ(m.Run({"COPY", "t", "u"}), Int(1));
  EXPECT_EQ(m.Run({"PEXPIRETIME", "u"}), Int(kT0 + 2000));
  m.now = kT0 + 1500;
  EXPECT_EQ(m.Run({"HGET", "h", "f"}), "$-1\r\n");
  EXPECT_EQ(m.Run({"TYPE", "h"}), "+none\r\n");
  EXPECT_EQ(m.Run({"SISMEMBER", "t", "m"}), Int(1));
  m.now = kT0 + 2500;
  EXPECT_EQ(m.Run({"SCARD", "t"}), Int(0));
  m.Run({"SADD", "t", "fresh"});  // a write over an expired set starts a new one without TTL
  EXPECT_EQ(m.Run({"TTL", "t"}), Int(-1));
  EXPECT_EQ(m.Run({"SMEMBERS", "t"}), "*1\r\n" + Bulk("fresh"));
}

TEST(KvTypes, SnapshotRoundTripOfEveryType) {
  Member m;
  m.Run({"SET", "str", std::string("bin\0ary", 7)});
  m.Run({"HSET", "h", "f1", "v1", "f2", std::string(100, 'x')});
  m.Run({"SADD", "s", "a", "b", "c"});
  m.Run({"SREM", "s", "a"});  // a removal reorders the dense array: the order must survive
  m.Run({"EXPIRE", "h", "100"});
  const std::string bytes = m.state.Serialize();
  ASSERT_EQ(bytes.substr(0, 4), "NVK4");
  KvState restored;
  ASSERT_TRUE(restored.Deserialize(bytes).ok());
  EXPECT_TRUE(restored.CheckIndexes());
  EXPECT_EQ(restored.Serialize(), bytes);
  EXPECT_EQ(restored.memory_bytes(), m.state.memory_bytes());
  const KvEntry* h = restored.Find("h", kT0);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->type, ValueType::kHash);
  EXPECT_EQ(*h->hash->Get("f2"), std::string(100, 'x'));
  EXPECT_EQ(h->expire_at_ms, kT0 + 100'000);
  const KvEntry* s = restored.Find("s", kT0);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->set->size(), 2u);
  EXPECT_EQ(s->set->at(0), m.state.Find("s", kT0)->set->at(0));
  // A damaged value is refused (bad type byte, duplicate member).
  std::string bad = bytes;
  const size_t type_at = bad.find(std::string("\x01s", 2)) + 2;  // key "s", then its type byte
  ASSERT_EQ(bad[type_at], static_cast<char>(ValueType::kSet));
  bad[type_at] = 9;
  EXPECT_FALSE(restored.Deserialize(bad).ok());
  EXPECT_EQ(restored.stored_keys(), 0u);
}

TEST(KvTypes, SpopIsDeterministicAcrossMembersAndSnapshots) {
  Member leader;
  std::vector<std::string> members;
  for (int i = 0; i < 200; ++i) members.push_back("m" + std::to_string(i));
  std::vector<std::string> sadd = {"SADD", "s"};
  sadd.insert(sadd.end(), members.begin(), members.end());
  leader.Run(sadd);
  std::vector<std::string> popped;
  std::string snapshot;
  size_t snapshot_index = 0;
  for (int round = 0; round < 20; ++round) {
    popped.push_back(leader.Run({"SPOP", "s", "3"}));
    leader.Run({"SREM", "s", "m" + std::to_string(round * 7)});
    if (round == 9) {
      snapshot = leader.state.Serialize();
      snapshot_index = leader.log.size();
    }
  }
  // A follower applying the whole log, and one restored from the snapshot.
  KvState follower;
  KvState restored;
  ASSERT_TRUE(restored.Deserialize(snapshot).ok());
  for (size_t i = 0; i < leader.log.size(); ++i) {
    KvResult a = follower.Apply(i + 1, leader.log[i]);
    if (i + 1 > snapshot_index) {
      KvResult b = restored.Apply(i + 1, leader.log[i]);
      EXPECT_EQ(a.bulk, b.bulk) << "entry " << i + 1;
    }
  }
  EXPECT_EQ(follower.Serialize(), leader.state.Serialize());
  EXPECT_EQ(restored.Serialize(), leader.state.Serialize());
  EXPECT_NE(popped[0], popped[1]);
}

TEST(KvTypes, KeyspaceCommands) {
  Member m;
  EXPECT_EQ(m.Run({"SET", "f", "10.5"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"INCRBYFLOAT", "f", "0.1"}), Bulk("10.6"));
  EXPECT_EQ(m.Run({"SETRANGE", "r", "3", "ab"}), Int(5));
  EXPECT_EQ(m.Run({"GET", "r"}), Bulk(std::string("\0\0\0ab", 5)));
  EXPECT_EQ(m.Run({"GETRANGE", "r", "-2", "-1"}), Bulk("ab"));
  EXPECT_EQ(m.Run({"MSETNX", "x", "1", "f", "2"}), Int(0));
  EXPECT_EQ(m.Run({"MSETNX", "x", "1", "y", "2"}), Int(1));
  EXPECT_EQ(m.Run({"GETEX", "x", "PX", "500"}), Bulk("1"));
  EXPECT_EQ(m.Run({"PTTL", "x"}), Int(500));
  EXPECT_EQ(m.Run({"GETSET", "x", "2"}), Bulk("1"));
  EXPECT_EQ(m.Run({"PTTL", "x"}), Int(-1));
  EXPECT_EQ(m.Run({"RENAMENX", "x", "y"}), Int(0));
  EXPECT_EQ(m.Run({"RENAME", "nokey", "y"}), Err("ERR no such key"));
  EXPECT_EQ(m.Run({"OBJECT", "ENCODING", "y"}), Bulk("int"));
  EXPECT_EQ(m.Run({"FLUSHDB"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"RANDOMKEY"}), "$-1\r\n");
  EXPECT_EQ(m.state.memory_bytes(), 0u);
}

}  // namespace
}  // namespace nines::store
