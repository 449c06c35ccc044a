// The Redis command table: names (case-insensitive) to handlers with Redis's
// arity convention (positive: exact, negative: minimum) and flags, and the
// three steps a server runs for every request:
//
//   1. PrepareCommand (pure): looks the command up, checks arity, AUTH and
//      arguments. It either writes the reply at once (errors, PING, CLIENT,
//      ROLE, ...: kReply), or asks for a read (kRead), or turns a write into an
//      encoded KvCommand to replicate (kWrite, plan.proposal).
//   2a. kRead: the caller applies its read barrier (plan.linearizable says if
//      one is needed: GET yes, INFO no), then ExecuteRead against the state.
//   2b. kWrite: the caller stamps the leader's time (StampTime), proposes
//      plan.proposal, waits until it is applied (KvState::Apply returns a
//      KvResult), then FormatWriteReply.
//
// Most write commands of the typed values (hashes, sets, ...) are proposed as
// they came (KvOp::kCommand: name and arguments) and parsed and applied by
// the spec's `apply` function on every member; their `prepare` only checks
// key and value sizes (ProposeAsCommand). Their errors (syntax, not an
// integer, WRONGTYPE) therefore come back from the apply, with Redis's text.
//
// Replies are RESP2 appended to the caller's output buffer. Error texts are
// Redis's own (docs/store.md lists them).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/kv_state.h"

namespace nines::store {

enum CommandFlag : uint32_t {
  kCmdWrite = 1,     // changes the state: replicated through the log
  kCmdReadonly = 2,  // reads the state
  kCmdAdmin = 4,     // administrative (FLUSHALL)
  kCmdNoAuth = 8,    // allowed before AUTH (AUTH, HELLO, QUIT)
  kCmdFast = 16,     // O(1) or O(log n), as Redis flags them
  kCmdDenyOom = 32,  // refused while the data set is over max_memory_bytes
  kCmdNoQueue = 64,  // run at once inside MULTI, not queued (EXEC, DISCARD, MULTI, WATCH, QUIT)
  kCmdPubSubContext = 128,  // allowed while the client is subscribed (Redis's RESP2 rule)
  kCmdNoMulti = 256,        // refused inside MULTI (Pub/Sub: not part of a log entry)
};

// A key a connection watches (WATCH): the applied index and log time the
// watch was taken at (see KvState::ModifiedSince).
struct WatchedKey {
  std::string key;
  uint64_t index = 0;
  int64_t time_ms = 0;
};
using WatchList = std::vector<WatchedKey>;

// Per-connection state the commands read and change.
struct ClientSession {
  uint64_t id = 0;  // unique per connection (CLIENT ID)
  std::string name;
  bool authenticated = false;
  bool close_after_reply = false;  // QUIT: send the reply, then close
  bool stale_reads = false;        // READONLY: reads may be served locally, unbarriered
  // MULTI: commands are queued (checked for name, arity, auth and memory
  // only) until EXEC; a failed check makes EXEC fail (multi_dirty).
  bool in_multi = false;
  bool multi_dirty = false;
  std::vector<std::vector<std::string>> queued;
  size_t queued_bytes = 0;
  // WATCH: the list WATCH replies add to (they may complete later: a WATCH is
  // a read barrier, or forwarded to the leader); null when nothing is
  // watched. EXEC takes it, UNWATCH and DISCARD drop it.
  std::shared_ptr<WatchList> watched;
  // Channels plus patterns this client is subscribed to (the connection
  // keeps it up to date): above 0 the client is in subscribed mode.
  size_t pubsub_subscriptions = 0;
};

struct MemberInfo {
  std::string id;
  std::string client_host;  // RESP address of the member
  int client_port = 0;
  uint64_t match_index = 0;  // replication progress (leader's view)
};

// What this member knows about itself and the group, for INFO, ROLE, HELLO.
struct ServerInfo {
  std::string id;
  std::string role = "leader";  // leader | follower | candidate
  std::string leader_id;
  std::string leader_host;  // leader's RESP address, "" if unknown
  int leader_port = 0;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  int tcp_port = 0;
  int64_t uptime_seconds = 0;
  uint64_t connected_clients = 0;
  uint64_t blocked_clients = 0;  // BLPOP & co. waiting on this leader
  int64_t process_id = 0;
  std::vector<MemberInfo> members;  // every member but this one
};

struct CommandConfig {
  std::string requirepass;             // empty: no AUTH needed
  size_t max_key_bytes = 64u << 10;    // longer keys are refused by writes
  size_t max_value_bytes = 16u << 20;  // longer values (and APPEND results) are refused
  // Data set size (keys + values) above which commands that may grow it are
  // refused with Redis's OOM error; 0 = no limit. Checked when a command is
  // prepared, against CommandContext::used_memory_bytes.
  uint64_t max_memory_bytes = 0;
  // The most elements of one collection (store.toml max_*; carried in each
  // write so every member applies the leader's bound).
  uint64_t max_hash_fields = 16u << 20;
  uint64_t max_list_elements = 16u << 20;
  uint64_t max_set_members = 16u << 20;
  uint64_t max_zset_members = 16u << 20;
};

struct CommandContext {
  const CommandConfig* config = nullptr;
  const ServerInfo* info = nullptr;
  int64_t now_ms = 0;              // log time reads judge expiry at (LogClock::ReadTime)
  uint64_t used_memory_bytes = 0;  // KvState::memory_bytes() of the local state
};

struct CommandSpec;

// kExec: EXEC of a transaction the session queued (the connection builds
// it, see transaction_commands.h); kWatch: WATCH of the keys args[1..] (the
// connection takes the watch point after a read barrier); kPubSub: a Pub/Sub
// command the connection runs against its member's subscriptions
// (pubsub_commands.h), never replicated.
enum class PlanKind { kReply, kRead, kWrite, kExec, kWatch, kPubSub };

// How a write's KvResult becomes the client's reply.
enum class WriteReply : uint8_t {
  kDirect,          // OK / nil / integer / bulk / error as the result says
  kOkNilAsInteger,  // SETNX: OK -> :1, nil -> :0
};

struct CommandPlan {
  PlanKind kind = PlanKind::kReply;
  const CommandSpec* spec = nullptr;  // the command (or subcommand) that ran
  bool linearizable = true;           // kRead: needs the read barrier
  std::string proposal;               // kWrite: the encoded KvCommand
  WriteReply reply = WriteReply::kDirect;
  // kWrite of a blocking command (BLPOP, ...): the connection blocks the
  // client on the leader when the pop finds nothing (blocking_commands.h);
  // block_timeout_ms 0 waits forever.
  bool block = false;
  int64_t block_timeout_ms = 0;
  // kRead parameters checked by PrepareCommand (SCAN).
  uint64_t cursor = 0;
  uint64_t count = 0;
  std::string_view pattern;
  bool type_matches = true;
  bool scan_by_type = false;  // SCAN TYPE: only keys of scan_type
  ValueType scan_type = ValueType::kString;
};

struct CommandCall;
struct ReadCall;
using PrepareFunction = void (*)(CommandCall& call);
using ReadFunction = void (*)(const ReadCall& call, const KvState& state);

struct CommandSpec {
  std::string_view name;  // lower case; subcommands as "client|setname"
  int arity;
  uint32_t flags;
  PrepareFunction prepare;  // null: a plain read (kRead)
  ReadFunction read;        // for kRead
  std::span<const CommandSpec> subcommands;
  int first_key = 0;  // COMMAND INFO key positions
  int last_key = 0;
  int key_step = 0;
  ApplyFunction apply = nullptr;  // for commands replicated as KvOp::kCommand
};

// Step 1. args: the request (args[0] is the name, non-empty). plan is reset.
void PrepareCommand(std::span<const std::string_view> args, ClientSession& session,
                    const CommandContext& context, CommandPlan* plan, std::string* out);
// Step 2a: for kRead plans, after the caller's read barrier.
void ExecuteRead(const CommandPlan& plan, std::span<const std::string_view> args,
                 const CommandContext& context, const KvState& state, std::string* out);
// Step 2b: for kWrite plans, with the result of applying plan.proposal.
void FormatWriteReply(const CommandPlan& plan, const KvResult& result, std::string* out);
// The same for a result and a reply kind.
void FormatResult(WriteReply reply, const KvResult& result, std::string* out);

// The command (not subcommand) named name, case-insensitively, or null.
const CommandSpec* LookupCommand(std::string_view name);
// Every top-level command, for COMMAND and docs.
std::span<const CommandSpec> AllCommands();

// The prepare of write commands replicated as sent (KvOp::kCommand, applied
// by the spec's apply): checks key and value sizes, then proposes.
void ProposeAsCommand(CommandCall& call);

// Error texts (exactly Redis's where Redis has the case).
inline constexpr std::string_view kErrSyntax = "ERR syntax error";
inline constexpr std::string_view kErrNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kErrDbIndex = "ERR DB index is out of range";
inline constexpr std::string_view kErrNoProto = "NOPROTO unsupported protocol version";
inline constexpr std::string_view kErrWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kErrAuthNotConfigured =
    "ERR AUTH <password> called without any password configured for the default user. Are you "
    "sure your configuration is correct?";
inline constexpr std::string_view kErrInvalidCursor = "ERR invalid cursor";
inline constexpr std::string_view kErrKeyTooLarge = "ERR key exceeds the maximum allowed size";
inline constexpr std::string_view kErrOom =
    "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kErrNotInMulti = "ERR Command not allowed inside a transaction";
inline constexpr std::string_view kErrExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";
// Bounds of one MULTI's queue: the transaction becomes one log entry.
inline constexpr size_t kMaxQueuedCommands = 1u << 20;
inline constexpr size_t kMaxQueuedBytes = 48u << 20;
inline constexpr std::string_view kErrTooManyQueued =
    "ERR too many commands queued in this transaction (it must fit in one log entry)";

// "ERR wrong number of arguments for 'get' command"
std::string WrongArityError(std::string_view full_name);
// "ERR Can't execute 'get': only (P|S)SUBSCRIBE / ... are allowed in this context"
std::string SubscribedContextError(std::string_view full_name);
// "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
std::string UnknownCommandError(std::span<const std::string_view> args);

// The arguments and outputs of one command while it runs (for handlers).
struct CommandCall {
  std::span<const std::string_view> args;
  ClientSession& session;
  const CommandContext& context;
  CommandPlan& plan;
  std::string* out;
};

// The same for a read, which changes nothing but the output.
struct ReadCall {
  std::span<const std::string_view> args;
  const CommandContext& context;
  const CommandPlan& plan;
  std::string* out;
};

}  // namespace nines::store
