// The command table against a local state with a fake replicator that
// applies each proposal at once: replies and error texts as Redis gives them
// (checked against redis-server 7.0), AUTH, sessions, and the plan shapes the
// Raft integration relies on (reads vs writes, linearizable or not).
#include "store/commands.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/kv_command.h"
#include "store/resp_parser.h"

namespace nines::store {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

std::string Ok() {
  return "+OK\r\n";
}
std::string Nil() {
  return "$-1\r\n";
}
std::string Err(std::string_view text) {
  return "-" + std::string(text) + "\r\n";
}
std::string Int(int64_t v) {
  return ":" + std::to_string(v) + "\r\n";
}
std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string Simple(std::string_view s) {
  return "+" + std::string(s) + "\r\n";
}

// One member with a replicator that commits and applies every proposal at once.
class FakeMember {
 public:
  FakeMember() { session.id = 7; }

  std::string Run(const std::vector<std::string>& args, CommandPlan* plan_out = nullptr) {
    std::vector<std::string_view> views(args.begin(), args.end());
    return RunViews(views, plan_out);
  }

  std::string RunViews(std::span<const std::string_view> views, CommandPlan* plan_out = nullptr) {
    CommandPlan plan;
    std::string out;
    CommandContext context{&config, &info, now, state.memory_bytes()};
    PrepareCommand(views, session, context, &plan, &out);
    if (plan.kind == PlanKind::kRead) {
      EXPECT_TRUE(out.empty());
      ExecuteRead(plan, views, context, state, &out);
    } else if (plan.kind == PlanKind::kWrite) {
      EXPECT_TRUE(out.empty());
      EXPECT_TRUE(StampTime(&plan.proposal, now));  // the leader's clock
      KvResult result = state.Apply(++index, plan.proposal);
      FormatWriteReply(plan, result, &out);
    }
    if (plan_out != nullptr) *plan_out = plan;
    return out;
  }

  // Raw RESP bytes in (pipelined), replies out, via the real parser.
  std::string Pipeline(std::string_view input) {
    resp::RequestParser parser;
    std::string buffer(input);
    std::string replies;
    while (true) {
      resp::ParseResult r = parser.Parse(buffer);
      if (r == resp::ParseResult::kError) {
        replies += Err("ERR " + parser.error());
        break;
      }
      if (r == resp::ParseResult::kNeedMore) break;
      replies += RunViews(parser.args());
      buffer.erase(0, parser.consumed());
      if (session.close_after_reply) break;
    }
    return replies;
  }

  KvState state;
  uint64_t index = 0;
  CommandConfig config;
  ServerInfo info;
  ClientSession session;
  int64_t now = kT0;
};

TEST(Commands, UnknownCommandAndArityErrorsLikeRedis) {
  FakeMember m;
  EXPECT_EQ(m.Run({"foo", "a", "b"}),
            Err("ERR unknown command 'foo', with args beginning with: 'a' 'b' "));
  EXPECT_EQ(m.Run({"foo"}), Err("ERR unknown command 'foo', with args beginning with: "));
  EXPECT_EQ(m.Run({"get"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(m.Run({"GET", "a", "b"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(m.Run({"getdel"}), Err("ERR wrong number of arguments for 'getdel' command"));
  EXPECT_EQ(m.Run({"mset", "a"}), Err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(m.Run({"mset", "a", "1", "b"}),
            Err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(m.Run({"ping", "a", "b"}), Err("ERR wrong number of arguments for 'ping' command"));
  EXPECT_EQ(m.Run({"client"}), Err("ERR wrong number of arguments for 'client' command"));
  EXPECT_EQ(m.Run({"client", "setname"}),
            Err("ERR wrong number of arguments for 'client|setname' command"));
  EXPECT_EQ(m.Run({"client", "foo"}), Err("ERR unknown subcommand 'foo'. Try CLIENT HELP."));
  EXPECT_EQ(m.Run({"command", "foo"}), Err("ERR unknown subcommand 'foo'. Try COMMAND HELP."));
  // Long arguments are cut at 128 bytes in total, as Redis does.
  std::string reply = m.Run({"nope", std::string(300, 'x'), "second"});
  EXPECT_EQ(reply, Err("ERR unknown command 'nope', with args beginning with: '" +
                       std::string(128, 'x') + "' "));
  // Newlines in a name cannot break the reply.
  EXPECT_EQ(m.Run({"a\r\nb"}), Err("ERR unknown command 'a  b', with args beginning with: "));
}

TEST(Commands, NamesAreCaseInsensitive) {
  FakeMember m;
  EXPECT_EQ(m.Run({"SeT", "k", "v"}), Ok());
  EXPECT_EQ(m.Run({"gEt", "k"}), Bulk("v"));
  EXPECT_EQ(m.Run({"CLIENT", "GETNAME"}), Nil());
}

TEST(Commands, PingEchoSelectQuit) {
  FakeMember m;
  EXPECT_EQ(m.Run({"PING"}), Simple("PONG"));
  EXPECT_EQ(m.Run({"PING", "hi"}), Bulk("hi"));
  EXPECT_EQ(m.Run({"ECHO", std::string("a\0b", 3)}), Bulk(std::string("a\0b", 3)));
  EXPECT_EQ(m.Run({"SELECT", "0"}), Ok());
  EXPECT_EQ(m.Run({"SELECT", "1"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(m.Run({"SELECT", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_FALSE(m.session.close_after_reply);
  EXPECT_EQ(m.Run({"QUIT"}), Ok());
  EXPECT_TRUE(m.session.close_after_reply);
}

TEST(Commands, Hello) {
  FakeMember m;
  std::string reply = m.Run({"HELLO", "2"});
  EXPECT_EQ(reply.substr(0, 4), "*14\r");
  EXPECT_NE(reply.find(Bulk("proto") + Int(2)), std::string::npos);
  EXPECT_NE(reply.find(Bulk("id") + Int(7)), std::string::npos);
  EXPECT_NE(reply.find(Bulk("role") + Bulk("master")), std::string::npos);
  EXPECT_EQ(m.Run({"HELLO", "3"}), Err("NOPROTO unsupported protocol version"));
  EXPECT_EQ(m.Run({"HELLO", "x"}), Err("ERR Protocol version is not an integer or out of range"));
  EXPECT_EQ(m.Run({"HELLO", "2", "bogus"}), Err("ERR Syntax error in HELLO option 'bogus'"));
  EXPECT_EQ(m.Run({"HELLO", "2", "SETNAME", "app"}).substr(0, 4), "*14\r");
  EXPECT_EQ(m.session.name, "app");
  EXPECT_EQ(m.Run({"HELLO"}).substr(0, 4), "*14\r");
}

TEST(Commands, AuthAndNoAuth) {
  FakeMember m;
  EXPECT_EQ(m.Run({"AUTH", "x"}),
            Err("ERR AUTH <password> called without any password configured for the default "
                "user. Are you sure your configuration is correct?"));
  m.config.requirepass = "s3cret";
  EXPECT_EQ(m.Run({"GET", "k"}), Err("NOAUTH Authentication required."));
  EXPECT_EQ(m.Run({"SET", "k", "v"}), Err("NOAUTH Authentication required."));
  // Unknown command and arity are checked before authentication (as Redis).
  EXPECT_EQ(m.Run({"foo"}), Err("ERR unknown command 'foo', with args beginning with: "));
  EXPECT_EQ(m.Run({"get"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(m.Run({"AUTH", "wrong"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(m.Run({"AUTH", "other", "s3cret"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(m.Run({"AUTH", "a", "b", "c"}), Err("ERR syntax error"));
  EXPECT_TRUE(m.Run({"HELLO", "2"}).starts_with("-NOAUTH HELLO must be called"));
  EXPECT_EQ(m.Run({"AUTH", "s3cret"}), Ok());
  EXPECT_EQ(m.Run({"GET", "k"}), Nil());

  FakeMember h;
  h.config.requirepass = "pw";
  EXPECT_EQ(h.Run({"HELLO", "2", "AUTH", "default", "bad"}),
            Err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(h.Run({"HELLO", "2", "AUTH", "default", "pw"}).substr(0, 4), "*14\r");
  EXPECT_TRUE(h.session.authenticated);
  EXPECT_EQ(h.Run({"PING"}), Simple("PONG"));
}

TEST(Commands, SetOptions) {
  FakeMember m;
  EXPECT_EQ(m.Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(m.Run({"SET", "k", "v2", "NX"}), Nil());
  EXPECT_EQ(m.Run({"SET", "k", "v2", "XX", "GET"}), Bulk("v"));
  EXPECT_EQ(m.Run({"SET", "new", "x", "XX"}), Nil());
  EXPECT_EQ(m.Run({"SET", "new", "x", "NX", "GET"}), Nil());
  EXPECT_EQ(m.Run({"GET", "new"}), Bulk("x"));
  EXPECT_EQ(m.Run({"SET", "k", "v", "EX", "10"}), Ok());
  EXPECT_EQ(m.Run({"TTL", "k"}), Int(10));
  EXPECT_EQ(m.Run({"PTTL", "k"}), Int(10'000));
  EXPECT_EQ(m.Run({"SET", "k", "v", "KEEPTTL"}), Ok());
  EXPECT_EQ(m.Run({"PTTL", "k"}), Int(10'000));
  EXPECT_EQ(m.Run({"SET", "k", "v", "PX", "1500"}), Ok());
  EXPECT_EQ(m.Run({"TTL", "k"}), Int(2));  // rounded as Redis: (1500+500)/1000
  EXPECT_EQ(m.Run({"SET", "k", "v", "PXAT", std::to_string(kT0 + 3000)}), Ok());
  EXPECT_EQ(m.Run({"PTTL", "k"}), Int(3000));
  EXPECT_EQ(m.Run({"SET", "k", "v", "EXAT", std::to_string(kT0 / 1000 + 4)}), Ok());
  EXPECT_EQ(m.Run({"PTTL", "k"}), Int(4000));
  EXPECT_EQ(m.Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(m.Run({"TTL", "k"}), Int(-1));

  const std::string invalid = Err("ERR invalid expire time in 'set' command");
  EXPECT_EQ(m.Run({"SET", "a", "b", "EX", "0"}), invalid);
  EXPECT_EQ(m.Run({"SET", "a", "b", "EX", "-1"}), invalid);
  EXPECT_EQ(m.Run({"SET", "a", "b", "PX", "9223372036854775807"}), invalid);
  EXPECT_EQ(m.Run({"SET", "a", "b", "EX", "9223372036854775"}), invalid);
  EXPECT_EQ(m.Run({"SET", "a", "b", "EX", "abc"}),
            Err("ERR value is not an integer or out of range"));
  for (std::vector<std::string> bad : {std::vector<std::string>{"SET", "a", "b", "NX", "XX"},
                                       {"SET", "a", "b", "XX", "NX"},
                                       {"SET", "a", "b", "EX", "1", "PX", "1"},
                                       {"SET", "a", "b", "KEEPTTL", "EX", "1"},
                                       {"SET", "a", "b", "EX", "1", "KEEPTTL"},
                                       {"SET", "a", "b", "EX"},
                                       {"SET", "a", "b", "BOGUS"}}) {
    EXPECT_EQ(m.Run(bad), Err("ERR syntax error")) << bad.back();
  }
  EXPECT_EQ(m.Run({"GET", "a"}), Nil());  // nothing was written by the failures
}

TEST(Commands, ExpiryIsDrivenByTheStampedClock) {
  FakeMember m;
  m.Run({"SET", "k", "v", "PX", "100"});
  m.now += 99;
  EXPECT_EQ(m.Run({"GET", "k"}), Bulk("v"));
  m.now += 1;
  EXPECT_EQ(m.Run({"GET", "k"}), Nil());
  EXPECT_EQ(m.Run({"EXISTS", "k"}), Int(0));
  EXPECT_EQ(m.Run({"TTL", "k"}), Int(-2));
  EXPECT_EQ(m.Run({"TYPE", "k"}), Simple("none"));
  EXPECT_EQ(m.Run({"DBSIZE"}), Int(0));
}

TEST(Commands, SetNxGetDelDelExists) {
  FakeMember m;
  EXPECT_EQ(m.Run({"SETNX", "k", "1"}), Int(1));
  EXPECT_EQ(m.Run({"SETNX", "k", "2"}), Int(0));
  EXPECT_EQ(m.Run({"GET", "k"}), Bulk("1"));
  EXPECT_EQ(m.Run({"EXISTS", "k", "k", "nope"}), Int(2));
  EXPECT_EQ(m.Run({"GETDEL", "k"}), Bulk("1"));
  EXPECT_EQ(m.Run({"GETDEL", "k"}), Nil());
  m.Run({"MSET", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(m.Run({"DEL", "a", "b", "zz"}), Int(2));
  EXPECT_EQ(m.Run({"MGET", "a", "c", "zz"}), "*3\r\n" + Nil() + Bulk("3") + Nil());
  EXPECT_EQ(m.Run({"TYPE", "c"}), Simple("string"));
}

TEST(Commands, Counters) {
  FakeMember m;
  EXPECT_EQ(m.Run({"INCR", "n"}), Int(1));
  EXPECT_EQ(m.Run({"INCRBY", "n", "10"}), Int(11));
  EXPECT_EQ(m.Run({"DECR", "n"}), Int(10));
  EXPECT_EQ(m.Run({"DECRBY", "n", "20"}), Int(-10));
  EXPECT_EQ(m.Run({"INCRBY", "n", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(m.Run({"INCRBY", "n", "1.5"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(m.Run({"DECRBY", "n", "-9223372036854775808"}), Err("ERR decrement would overflow"));
  m.Run({"SET", "s", "abc"});
  EXPECT_EQ(m.Run({"INCR", "s"}), Err("ERR value is not an integer or out of range"));
  m.Run({"SET", "max", "9223372036854775807"});
  EXPECT_EQ(m.Run({"INCR", "max"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(m.Run({"GET", "max"}), Bulk("9223372036854775807"));
}

TEST(Commands, AppendStrlenAndSizeLimits) {
  FakeMember m;
  m.config.max_value_bytes = 8;
  m.config.max_key_bytes = 4;
  EXPECT_EQ(m.Run({"APPEND", "k", "abc"}), Int(3));
  EXPECT_EQ(m.Run({"APPEND", "k", "defgh"}), Int(8));
  EXPECT_EQ(m.Run({"APPEND", "k", "i"}),
            Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(m.Run({"STRLEN", "k"}), Int(8));
  EXPECT_EQ(m.Run({"STRLEN", "nope"}), Int(0));
  EXPECT_EQ(m.Run({"SET", "k", "123456789"}),
            Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(m.Run({"SET", "kkkkk", "1"}), Err("ERR key exceeds the maximum allowed size"));
  EXPECT_EQ(m.Run({"MSET", "a", "1", "kkkkk", "2"}),
            Err("ERR key exceeds the maximum allowed size"));
  EXPECT_EQ(m.Run({"GET", "a"}), Nil());  // MSET is all or nothing
}

TEST(Commands, MaxMemoryRefusesGrowthButAllowsDeletes) {
  FakeMember m;
  m.config.max_memory_bytes = 20;
  EXPECT_EQ(m.Run({"SET", "k1", "0123456789"}), Ok());
  EXPECT_EQ(m.Run({"SET", "k2", "0123456789"}), Ok());  // 12 bytes used: still under
  EXPECT_EQ(m.Run({"SET", "k3", "x"}),
            Err("OOM command not allowed when used memory > 'maxmemory'."));
  EXPECT_EQ(m.Run({"INCR", "n"}), Err("OOM command not allowed when used memory > 'maxmemory'."));
  EXPECT_EQ(m.Run({"GET", "k1"}), Bulk("0123456789"));
  EXPECT_EQ(m.Run({"EXPIRE", "k1", "100"}), Int(1));
  EXPECT_EQ(m.Run({"DEL", "k1"}), Int(1));
  EXPECT_EQ(m.Run({"SET", "k3", "x"}), Ok());
}

TEST(Commands, ExpireFamily) {
  FakeMember m;
  EXPECT_EQ(m.Run({"EXPIRE", "nokey", "10"}), Int(0));
  m.Run({"SET", "k", "v"});
  EXPECT_EQ(m.Run({"EXPIRE", "k", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(m.Run({"EXPIRE", "k", "1", "nx", "xx"}),
            Err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(m.Run({"EXPIRE", "k", "1", "gt", "lt"}),
            Err("ERR GT and LT options at the same time are not compatible"));
  EXPECT_EQ(m.Run({"EXPIRE", "k", "1", "foo"}), Err("ERR Unsupported option foo"));
  EXPECT_EQ(m.Run({"EXPIRE", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(m.Run({"PEXPIRE", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'pexpire' command"));
  EXPECT_EQ(m.Run({"EXPIRE", "k", "100"}), Int(1));
  EXPECT_EQ(m.Run({"TTL", "k"}), Int(100));
  EXPECT_EQ(m.Run({"EXPIRE", "k", "50", "GT"}), Int(0));
  EXPECT_EQ(m.Run({"PEXPIRE", "k", "50", "LT"}), Int(1));
  EXPECT_EQ(m.Run({"PTTL", "k"}), Int(50));
  EXPECT_EQ(m.Run({"PERSIST", "k"}), Int(1));
  EXPECT_EQ(m.Run({"PERSIST", "k"}), Int(0));
  EXPECT_EQ(m.Run({"TTL", "k"}), Int(-1));
  EXPECT_EQ(m.Run({"EXPIRE", "k", "-1"}), Int(1));
  EXPECT_EQ(m.Run({"EXISTS", "k"}), Int(0));
}

TEST(Commands, ScanKeysDbsizeFlushall) {
  FakeMember m;
  for (int i = 0; i < 30; ++i) m.Run({"SET", "user:" + std::to_string(i), "v"});
  m.Run({"SET", "other", "v"});
  EXPECT_EQ(m.Run({"DBSIZE"}), Int(31));
  EXPECT_EQ(m.Run({"SCAN", "x"}), Err("ERR invalid cursor"));
  EXPECT_EQ(m.Run({"SCAN", "-"}), Err("ERR invalid cursor"));
  EXPECT_EQ(m.Run({"SCAN", "1x"}), Err("ERR invalid cursor"));
  EXPECT_EQ(m.Run({"SCAN", "-1"}), "*2\r\n$1\r\n0\r\n*0\r\n");  // strtoull wraps: past the end
  EXPECT_EQ(m.Run({"SCAN", "0", "COUNT", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(m.Run({"SCAN", "0", "COUNT"}), Err("ERR syntax error"));
  EXPECT_EQ(m.Run({"SCAN", "0", "COUNT", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(m.Run({"SCAN", "0", "BOGUS", "1"}), Err("ERR syntax error"));

  // Walk with the real reply format: *2, cursor, keys.
  size_t seen = 0;
  std::string cursor = "0";
  int rounds = 0;
  do {
    std::string reply = m.Run({"SCAN", cursor, "MATCH", "user:*", "COUNT", "7"});
    ASSERT_TRUE(reply.starts_with("*2\r\n$"));
    size_t pos = reply.find("\r\n", 4);
    size_t start = pos + 2;
    size_t end = reply.find("\r\n", start);
    cursor = reply.substr(start, end - start);
    size_t array = reply.find('*', end);
    seen += std::stoul(reply.substr(array + 1));
    ASSERT_LT(++rounds, 100);
  } while (cursor != "0");
  EXPECT_EQ(seen, 30u);
  EXPECT_EQ(m.Run({"SCAN", "0", "TYPE", "hash", "COUNT", "1000"}), "*2\r\n$1\r\n0\r\n*0\r\n");

  std::string keys = m.Run({"KEYS", "user:1*"});
  EXPECT_TRUE(keys.starts_with("*11\r\n")) << keys;  // user:1, user:10..19
  EXPECT_EQ(m.Run({"KEYS", "oth?r"}), "*1\r\n" + Bulk("other"));
  EXPECT_EQ(m.Run({"FLUSHALL", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(m.Run({"FLUSHALL", "ASYNC"}), Ok());
  EXPECT_EQ(m.Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(m.Run({"KEYS", "*"}), "*0\r\n");
}

TEST(Commands, ClientSubcommands) {
  FakeMember m;
  EXPECT_EQ(m.Run({"CLIENT", "ID"}), Int(7));
  EXPECT_EQ(m.Run({"CLIENT", "GETNAME"}), Nil());
  EXPECT_EQ(m.Run({"CLIENT", "SETNAME", "worker-1"}), Ok());
  EXPECT_EQ(m.Run({"CLIENT", "GETNAME"}), Bulk("worker-1"));
  EXPECT_EQ(m.Run({"CLIENT", "SETNAME", "a b"}),
            Err("ERR Client names cannot contain spaces, newlines or special characters."));
  EXPECT_EQ(m.Run({"CLIENT", "SETINFO", "lib-name", "redis-py"}), Ok());
}

TEST(Commands, CommandIntrospection) {
  FakeMember m;
  EXPECT_EQ(m.Run({"COMMAND", "COUNT"}), Int(static_cast<int64_t>(AllCommands().size())));
  EXPECT_EQ(m.Run({"COMMAND", "DOCS"}), "*0\r\n");
  EXPECT_EQ(m.Run({"COMMAND", "DOCS", "get"}), "*0\r\n");
  std::string info = m.Run({"COMMAND", "INFO", "get", "nope"});
  EXPECT_TRUE(info.starts_with("*2\r\n*10\r\n" + Bulk("get") + Int(2))) << info;
  EXPECT_TRUE(info.ends_with("$-1\r\n"));
  std::string all = m.Run({"COMMAND"});
  EXPECT_TRUE(all.starts_with("*" + std::to_string(AllCommands().size()) + "\r\n"));
  // Every command the store promises is in the table.
  for (const char* name :
       {"ping",     "echo",   "hello",   "select", "auth",    "get",    "set",
        "setnx",    "getdel", "del",     "exists", "incr",    "incrby", "decr",
        "decrby",   "append", "strlen",  "mget",   "mset",    "expire", "pexpire",
        "ttl",      "pttl",   "persist", "type",   "scan",    "keys",   "dbsize",
        "flushall", "info",   "role",    "client", "command", "quit"}) {
    EXPECT_NE(LookupCommand(name), nullptr) << name;
  }
}

TEST(Commands, ConfigGet) {
  FakeMember m;
  EXPECT_EQ(m.Run({"CONFIG", "GET", "save"}), "*2\r\n" + Bulk("save") + Bulk(""));
  EXPECT_EQ(m.Run({"CONFIG", "GET", "append*"}),
            "*4\r\n" + Bulk("appendfsync") + Bulk("always") + Bulk("appendonly") + Bulk("yes"));
  EXPECT_EQ(m.Run({"CONFIG", "GET", "nosuch"}), "*0\r\n");
  EXPECT_EQ(m.Run({"CONFIG", "GET"}),
            Err("ERR wrong number of arguments for 'config|get' command"));
  EXPECT_EQ(m.Run({"CONFIG", "SET", "save", ""}),
            Err("ERR unknown subcommand 'SET'. Try CONFIG HELP."));
}

TEST(Commands, InfoAndRole) {
  FakeMember m;
  m.info.id = "s1";
  m.info.role = "leader";
  m.info.term = 3;
  m.info.applied_index = 12;
  m.info.members = {{"s2", "127.0.2.21", 6380, 11}, {"s3", "127.0.3.21", 6380, 12}};
  m.Run({"SET", "a", "1", "EX", "100"});
  m.Run({"SET", "b", "1"});
  std::string info = m.Run({"INFO"});
  EXPECT_NE(info.find("# Server\r\nredis_version:"), std::string::npos);
  EXPECT_NE(info.find("role:master\r\nconnected_slaves:2\r\n"), std::string::npos);
  EXPECT_NE(info.find("slave1:ip=127.0.3.21,port=6380,state=online,offset=12,lag=0"),
            std::string::npos);
  EXPECT_NE(info.find("nines_term:3"), std::string::npos);
  EXPECT_NE(info.find("db0:keys=2,expires=1,avg_ttl=0"), std::string::npos);
  std::string keyspace = m.Run({"INFO", "keyspace"});
  EXPECT_EQ(keyspace, Bulk("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n"));
  EXPECT_EQ(m.Run({"INFO", "nosuchsection"}), Bulk(""));
  EXPECT_EQ(m.Run({"ROLE"}), "*3\r\n" + Bulk("master") + Int(12) + "*2\r\n*3\r\n" +
                                 Bulk("127.0.2.21") + Bulk("6380") + Bulk("11") + "*3\r\n" +
                                 Bulk("127.0.3.21") + Bulk("6380") + Bulk("12"));

  m.info.role = "follower";
  m.info.leader_host = "127.0.2.21";
  m.info.leader_port = 6380;
  EXPECT_EQ(m.Run({"ROLE"}), "*5\r\n" + Bulk("slave") + Bulk("127.0.2.21") + Int(6380) +
                                 Bulk("connected") + Int(12));
  std::string replication = m.Run({"INFO", "REPLICATION"});
  EXPECT_NE(replication.find("role:slave\r\nmaster_host:127.0.2.21\r\nmaster_port:6380\r\n"
                             "master_link_status:up"),
            std::string::npos);
}

TEST(Commands, PlansTellTheCallerWhatToDo) {
  FakeMember m;
  CommandPlan plan;
  m.Run({"GET", "k"}, &plan);
  EXPECT_EQ(plan.kind, PlanKind::kRead);
  EXPECT_TRUE(plan.linearizable);
  EXPECT_TRUE(plan.spec->flags & kCmdReadonly);
  m.Run({"INFO"}, &plan);
  EXPECT_EQ(plan.kind, PlanKind::kRead);
  EXPECT_FALSE(plan.linearizable);
  m.Run({"SET", "k", "v"}, &plan);
  EXPECT_EQ(plan.kind, PlanKind::kWrite);
  EXPECT_TRUE(plan.spec->flags & kCmdWrite);
  KvCommand decoded;
  ASSERT_TRUE(DecodeKvCommand(plan.proposal, &decoded).ok());
  EXPECT_EQ(decoded.op, KvOp::kSet);
  EXPECT_EQ(decoded.now_ms, kT0);
  m.Run({"PING"}, &plan);
  EXPECT_EQ(plan.kind, PlanKind::kReply);
  // READONLY opts this connection in to unbarriered (possibly stale) reads.
  EXPECT_EQ(m.Run({"READONLY"}), Ok());
  m.Run({"GET", "k"}, &plan);
  EXPECT_EQ(plan.kind, PlanKind::kRead);
  EXPECT_FALSE(plan.linearizable);
  EXPECT_EQ(m.Run({"READWRITE"}), Ok());
  m.Run({"GET", "k"}, &plan);
  EXPECT_TRUE(plan.linearizable);
  m.Run({"SET", "k", "v", "NX", "XX"}, &plan);
  EXPECT_EQ(plan.kind, PlanKind::kReply);  // rejected before any proposal
  EXPECT_EQ(m.index, 1u);                  // only the one valid SET reached the "log"
}

TEST(Commands, PipelineThroughTheParser) {
  FakeMember m;
  std::string input =
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n"
      "INCR k\r\n"
      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
      "PING\r\n"
      "*1\r\n$4\r\nQUIT\r\n"
      "PING\r\n";  // after QUIT: not run
  EXPECT_EQ(m.Pipeline(input), Ok() + Int(2) + Bulk("2") + Simple("PONG") + Ok());
  FakeMember bad;
  EXPECT_EQ(bad.Pipeline("PING\r\n*1\r\n$-5\r\n"),
            Simple("PONG") + Err("ERR Protocol error: invalid bulk length"));
}

}  // namespace
}  // namespace nines::store
