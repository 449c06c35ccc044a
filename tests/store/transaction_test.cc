// MULTI/EXEC/DISCARD/WATCH/UNWATCH against a local state, with the steps a
// connection takes (TakeTransaction, NINES.EXEC prepared and applied as one
// entry, WATCH taken at the applied index): the queueing and abort rules with
// Redis 7.0's texts, per-command errors inside EXEC, and WATCH's view of
// changes (writes, removals, expiry, evicted tombstones, snapshots).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/commands.h"
#include "store/kv_command.h"
#include "store/transaction_commands.h"

namespace nines::store {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

class Member {
 public:
  std::string Run(const std::vector<std::string>& args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    CommandPlan plan;
    std::string out;
    CommandContext context{&config, &info, now, state.memory_bytes()};
    PrepareCommand(views, session, context, &plan, &out);
    switch (plan.kind) {
      case PlanKind::kReply:
        return out;
      case PlanKind::kRead:
        ExecuteRead(plan, views, context, state, &out);
        return out;
      case PlanKind::kWrite:
        return Apply(plan);
      case PlanKind::kWatch:
        if (!session.watched) session.watched = std::make_shared<WatchList>();
        for (size_t i = 1; i < args.size(); ++i) {
          session.watched->push_back(WatchedKey{args[i], state.applied_index(), now});
        }
        return "+OK\r\n";
      case PlanKind::kExec: {
        std::shared_ptr<WatchList> watches;
        std::vector<std::string> items = TakeTransaction(session, context, &watches);
        std::vector<std::string> request = ExecRequestArgs(watches.get(), items);
        std::vector<std::string_view> request_views(request.begin(), request.end());
        ClientSession leader_session;
        leader_session.authenticated = true;
        CommandPlan exec_plan;
        std::string exec_out;
        PrepareCommand(request_views, leader_session, context, &exec_plan, &exec_out);
        if (exec_plan.kind != PlanKind::kWrite) return exec_out;
        return Apply(exec_plan);
      }
      case PlanKind::kPubSub:  // not under test here (pubsub_commands_test)
        return "";
    }
    return "";
  }
  // Another client's command (its own session).
  std::string Other(const std::vector<std::string>& args) {
    ClientSession mine = std::move(session);
    session = ClientSession{};
    session.authenticated = true;
    std::string reply = Run(args);
    session = std::move(mine);
    return reply;
  }

  CommandConfig config;
  ServerInfo info;
  ClientSession session;
  KvState state;
  int64_t now = kT0;
  uint64_t index = 0;

 private:
  std::string Apply(CommandPlan& plan) {
    EXPECT_TRUE(StampTime(&plan.proposal, now));
    KvResult result = state.Apply(++index, plan.proposal);
    EXPECT_TRUE(state.CheckIndexes());
    std::string out;
    FormatWriteReply(plan, result, &out);
    return out;
  }
};

std::string Err(std::string_view text) {
  return "-" + std::string(text) + "\r\n";
}

TEST(Transaction, QueuesAndExecutesInOrder) {
  Member m;
  EXPECT_EQ(m.Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"SET", "a", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"INCR", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"GET", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"PING"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"SETNX", "a", "x"}), "+QUEUED\r\n");
  EXPECT_EQ(m.state.applied_index(), 0u) << "nothing is applied before EXEC";
  EXPECT_EQ(m.Run({"EXEC"}), "*5\r\n+OK\r\n:2\r\n$1\r\n2\r\n+PONG\r\n:0\r\n");
  EXPECT_EQ(m.state.applied_index(), 1u) << "one entry for the whole transaction";
  EXPECT_EQ(m.state.Find("a", kT0)->version, 1u);
  EXPECT_EQ(m.Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"EXEC"}), "*0\r\n");
}

TEST(Transaction, RedisErrorsForMisplacedCommands) {
  Member m;
  EXPECT_EQ(m.Run({"EXEC"}), Err("ERR EXEC without MULTI"));
  EXPECT_EQ(m.Run({"DISCARD"}), Err("ERR DISCARD without MULTI"));
  EXPECT_EQ(m.Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"MULTI"}), Err("ERR MULTI calls can not be nested"));
  EXPECT_EQ(m.Run({"WATCH", "a"}), Err("ERR WATCH inside MULTI is not allowed"));
  EXPECT_EQ(m.Run({"SET", "a", "1"}), "+QUEUED\r\n");
  // Neither error fails the transaction (as Redis 7.0).
  EXPECT_EQ(m.Run({"EXEC"}), "*1\r\n+OK\r\n");
  EXPECT_EQ(m.Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"SET", "b", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"DISCARD"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"GET", "b"}), "$-1\r\n");
  EXPECT_EQ(m.Run({"EXEC"}), Err("ERR EXEC without MULTI"));
}

TEST(Transaction, CheckFailuresInsideMultiAbortExec) {
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"GET"}, {"NOSUCH", "x"}, {"CLIENT", "FOOBAR"}, {"EXEC", "x"}}) {
    Member m;
    EXPECT_EQ(m.Run({"WATCH", "w"}), "+OK\r\n");
    EXPECT_EQ(m.Run({"MULTI"}), "+OK\r\n");
    EXPECT_EQ(m.Run({"SET", "a", "1"}), "+QUEUED\r\n");
    EXPECT_EQ(m.Run(bad).substr(0, 5), "-ERR ");
    EXPECT_EQ(m.Run({"SET", "b", "1"}), "+QUEUED\r\n");
    EXPECT_EQ(m.Run({"EXEC"}), Err(kErrExecAbort));
    EXPECT_EQ(m.Run({"GET", "a"}), "$-1\r\n");
    EXPECT_FALSE(m.session.in_multi);
    EXPECT_EQ(m.session.watched, nullptr) << "EXECABORT unwatches";
  }
  Member m;
  m.config.requirepass = "pw";
  m.session.authenticated = false;
  EXPECT_EQ(m.Run({"MULTI"}), Err(kErrNoAuth));
  EXPECT_EQ(m.Run({"AUTH", "pw"}), "+OK\r\n");
  m.config.max_memory_bytes = 1;
  EXPECT_EQ(m.Run({"SET", "big", "value"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"SET", "a", "1"}), Err(kErrOom));
  EXPECT_EQ(m.Run({"GET", "big"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"EXEC"}), Err(kErrExecAbort));
}

TEST(Transaction, RuntimeErrorsArePerCommand) {
  Member m;
  EXPECT_EQ(m.Run({"SET", "s", "hello"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(m.Run({"INCR", "s"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"SET", "k", "v", "XX", "NX"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"LPUSH", "s", "x"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"SET", "t", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(m.Run({"EXEC"}), "*4\r\n" + Err(kErrNotInteger) + Err("ERR syntax error") +
                                 Err(kErrWrongType) + "+OK\r\n");
  EXPECT_EQ(m.Run({"GET", "t"}), "$1\r\n1\r\n");
}

TEST(Transaction, WatchAbortsOnChangesByAnyone) {
  Member m;
  m.Run({"SET", "a", "1"});
  EXPECT_EQ(m.Run({"WATCH", "a"}), "+OK\r\n");
  m.Other({"SET", "a", "2"});
  m.Run({"MULTI"});
  m.Run({"SET", "a", "3"});
  EXPECT_EQ(m.Run({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(m.Run({"GET", "a"}), "$1\r\n2\r\n");
  EXPECT_EQ(m.session.watched, nullptr) << "EXEC unwatches";
  // Not watched any more: the next transaction runs.
  m.Run({"MULTI"});
  m.Run({"SET", "a", "3"});
  EXPECT_EQ(m.Run({"EXEC"}), "*1\r\n+OK\r\n");
  // A write before WATCH, or to another key, does not abort.
  m.Run({"WATCH", "a"});
  m.Other({"SET", "other", "1"});
  m.Run({"MULTI"});
  m.Run({"INCR", "a"});
  EXPECT_EQ(m.Run({"EXEC"}), "*1\r\n:4\r\n");
  // UNWATCH forgets.
  m.Run({"WATCH", "a"});
  m.Run({"UNWATCH"});
  m.Other({"SET", "a", "9"});
  m.Run({"MULTI"});
  m.Run({"INCR", "a"});
  EXPECT_EQ(m.Run({"EXEC"}), "*1\r\n:10\r\n");
  // Created and removed again after WATCH: a change (its tombstone says so).
  m.Run({"WATCH", "gone"});
  m.Other({"SET", "gone", "1"});
  m.Other({"DEL", "gone"});
  m.Run({"MULTI"});
  m.Run({"SET", "gone", "2"});
  EXPECT_EQ(m.Run({"EXEC"}), "*-1\r\n");
  // Removed before WATCH: no change.
  m.Run({"WATCH", "gone"});
  m.Run({"MULTI"});
  m.Run({"SET", "gone", "2"});
  EXPECT_EQ(m.Run({"EXEC"}), "*1\r\n+OK\r\n");
  // Renamed away, and FLUSHALL of a watched key.
  m.Run({"WATCH", "gone"});
  m.Other({"RENAME", "gone", "moved"});
  m.Run({"MULTI"});
  EXPECT_EQ(m.Run({"EXEC"}), "*-1\r\n");
  m.Run({"WATCH", "moved", "never"});
  m.Other({"FLUSHALL"});
  m.Run({"MULTI"});
  EXPECT_EQ(m.Run({"EXEC"}), "*-1\r\n");
  m.Run({"WATCH", "never"});
  m.Other({"FLUSHALL"});
  m.Run({"MULTI"});
  EXPECT_EQ(m.Run({"EXEC"}), "*0\r\n") << "FLUSHALL of an absent key is no change (as Redis)";
}

TEST(Transaction, WatchAndExpiry) {
  Member m;
  m.Run({"SET", "t", "1", "PX", "100"});
  m.Run({"WATCH", "t"});
  m.now = kT0 + 200;  // expired after WATCH: a change (Redis 6.0.9+)
  m.Run({"MULTI"});
  m.Run({"GET", "t"});
  EXPECT_EQ(m.Run({"EXEC"}), "*-1\r\n");
  // Expired before WATCH and removed after it: no change.
  m.Run({"SET", "u", "1", "PX", "100"});
  m.now = kT0 + 400;
  m.Run({"WATCH", "u"});
  m.Other({"GET", "u"});
  m.Other({"DEL", "u"});  // removes the expired key (no logical change)
  m.Run({"MULTI"});
  m.Run({"GET", "u"});
  EXPECT_EQ(m.Run({"EXEC"}), "*1\r\n$-1\r\n");
  // A TTL set after WATCH is a write.
  m.Run({"SET", "v", "1"});
  m.Run({"WATCH", "v"});
  m.Other({"EXPIRE", "v", "100"});
  m.Run({"MULTI"});
  EXPECT_EQ(m.Run({"EXEC"}), "*-1\r\n");
}

TEST(Transaction, EvictedTombstonesAbortConservatively) {
  Member m;
  m.Run({"WATCH", "never"});
  for (size_t i = 0; i <= KeyTombstones::kMaxEntries; ++i) {
    const std::string key = "k" + std::to_string(i);
    m.Other({"SET", key, "v"});
    m.Other({"DEL", key});
  }
  EXPECT_GT(m.state.tombstones().horizon(), 0u);
  m.Run({"MULTI"});
  EXPECT_EQ(m.Run({"EXEC"}), "*-1\r\n") << "removals it no longer remembers may have hit it";
  m.Run({"WATCH", "never"});
  m.Run({"MULTI"});
  EXPECT_EQ(m.Run({"EXEC"}), "*0\r\n");
}

TEST(Transaction, SnapshotKeepsWhatWatchSees) {
  Member m;
  m.Run({"SET", "a", "1"});
  m.Run({"SET", "d", "1"});
  m.Run({"WATCH", "a", "d", "absent"});
  m.Other({"DEL", "d"});
  // Restore the state from a snapshot: versions and tombstones come along.
  const std::string snapshot = m.state.Serialize();
  Member restored;
  ASSERT_TRUE(restored.state.Deserialize(snapshot).ok());
  EXPECT_EQ(restored.state.Serialize(), snapshot);
  restored.index = m.index;
  for (Member* x : {&m, &restored}) {
    TxWatch a{"a", 2, kT0};  // WATCH was taken at index 2
    TxWatch d{"d", 2, kT0};
    TxWatch absent{"absent", 2, kT0};
    EXPECT_FALSE(x->state.ModifiedSince(a)) << "unchanged since the watch";
    EXPECT_TRUE(x->state.ModifiedSince(d)) << "removed after the watch";
    EXPECT_FALSE(x->state.ModifiedSince(absent));
  }
  restored.session.watched = m.session.watched;
  restored.Run({"MULTI"});
  EXPECT_EQ(restored.Run({"EXEC"}), "*-1\r\n");
}

TEST(Transaction, RandomReadsInsideExecReplyTheSameOnEveryMember) {
  Member a;
  Member b;
  for (Member* m : {&a, &b}) {
    m->Run({"SADD", "s", "1", "2", "3", "4", "5", "6", "7", "8"});
    m->Run({"MULTI"});
    m->Run({"SRANDMEMBER", "s", "3"});
    m->Run({"SPOP", "s"});
    m->Run({"RANDOMKEY"});
  }
  EXPECT_EQ(a.Run({"EXEC"}), b.Run({"EXEC"}));
  EXPECT_EQ(a.state.Serialize(), b.state.Serialize());
}

}  // namespace
}  // namespace nines::store
