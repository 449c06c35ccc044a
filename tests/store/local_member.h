// One store member inside the test process, for tests of the command table
// and the state machine: a command takes the path a connection gives it
// (PrepareCommand, ExecuteRead, WATCH at the applied index, MULTI/EXEC as one
// NINES.EXEC entry) and every proposal is applied at once, as if Raft had
// committed it. The log is kept, so another state can replay it; the indexes
// are checked after every command.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/commands.h"
#include "store/kv_command.h"
#include "store/kv_state.h"
#include "store/transaction_commands.h"

namespace nines::store::testing {

// The members' wall clock at the start of a test (Unix ms, November 2023).
constexpr int64_t kT0 = 1'700'000'000'000;

class LocalMember {
 public:
  // Runs one command of this member's client session; returns its RESP reply.
  std::string Run(const std::vector<std::string>& args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    CommandPlan plan;
    std::string out;
    CommandContext context{&config, &info, now, state.memory_bytes()};
    PrepareCommand(views, session, context, &plan, &out);
    switch (plan.kind) {
      case PlanKind::kReply:
        break;
      case PlanKind::kRead:
        ExecuteRead(plan, views, context, state, &out);
        break;
      case PlanKind::kWrite:
        out = Apply(plan);
        break;
      case PlanKind::kWatch:
        if (!session.watched) session.watched = std::make_shared<WatchList>();
        for (size_t i = 1; i < args.size(); ++i) {
          session.watched->push_back(WatchedKey{args[i], state.applied_index(), now});
        }
        out = "+OK\r\n";
        break;
      case PlanKind::kExec:
        out = Exec(context);
        break;
      case PlanKind::kPubSub:  // not under test here (pubsub_commands_test)
        break;
    }
    EXPECT_TRUE(state.CheckIndexes()) << args[0];
    return out;
  }

  // Another client's command (a session of its own).
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
  std::vector<std::string> log;  // every applied proposal, in order
  int64_t now = kT0;

 private:
  // EXEC as a connection runs it: the queued commands become one request
  // that the leader prepares (with the watches) and applies as one entry.
  std::string Exec(const CommandContext& context) {
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

  // Commits and applies the proposal at the next index.
  std::string Apply(CommandPlan& plan) {
    EXPECT_TRUE(StampTime(&plan.proposal, now));
    log.push_back(plan.proposal);
    KvResult result = state.Apply(state.applied_index() + 1, plan.proposal);
    std::string out;
    FormatWriteReply(plan, result, &out);
    return out;
  }
};

}  // namespace nines::store::testing
