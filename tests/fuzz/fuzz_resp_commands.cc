// libFuzzer target for the whole request path without Raft: RESP parsing, the
// command table, and the state machine applying every write at once (a fake
// replicator). Checks that no input crashes a handler, every reply is one
// well-formed RESP reply, and the state's indexes stay consistent; writes are
// also replayed on a second state from their encoded bytes, which must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/commands.h"
#include "store/kv_command.h"
#include "store/resp_parser.h"

namespace {

using namespace nines::store;

// Length of the first RESP2 reply in s, or 0 if it is not one.
size_t ReplyLength(std::string_view s, int depth = 0) {
  if (s.empty() || depth > 8) return 0;
  size_t eol = s.find("\r\n");
  if (eol == std::string_view::npos) return 0;
  const char type = s[0];
  if (type == '+' || type == '-') return eol + 2;
  long long n = std::strtoll(std::string(s.substr(1, eol - 1)).c_str(), nullptr, 10);
  if (type == ':') return eol + 2;
  if (type == '$') {
    if (n < 0) return eol + 2;
    size_t end = eol + 2 + static_cast<size_t>(n);
    if (s.size() < end + 2 || s.substr(end, 2) != "\r\n") return 0;
    return end + 2;
  }
  if (type == '*') {
    size_t pos = eol + 2;
    for (long long i = 0; i < n; ++i) {
      size_t len = ReplyLength(s.substr(pos), depth + 1);
      if (len == 0) return 0;
      pos += len;
    }
    return pos;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 14) return 0;
  std::string buffer(reinterpret_cast<const char*>(data), size);
  resp::Limits limits;
  limits.max_bulk_len = 4096;
  limits.max_array_len = 64;
  resp::RequestParser parser(limits);
  KvState state;
  KvState replica;
  uint64_t index = 0;
  CommandConfig config;
  config.max_value_bytes = 1024;
  config.max_memory_bytes = size % 2 == 0 ? 0 : 4096;
  ServerInfo info;
  ClientSession session;
  int64_t now = 1'700'000'000'000;
  for (int commands = 0; commands < 200; ++commands) {
    resp::ParseResult r = parser.Parse(buffer);
    if (r != resp::ParseResult::kCommand) break;
    CommandContext context{&config, &info, now, state.memory_bytes()};
    CommandPlan plan;
    std::string out;
    PrepareCommand(parser.args(), session, context, &plan, &out);
    if (plan.kind == PlanKind::kRead) {
      ExecuteRead(plan, parser.args(), context, state, &out);
    } else if (plan.kind == PlanKind::kWrite) {
      ++index;
      KvResult a = state.Apply(index, plan.proposal);
      KvResult b = replica.Apply(index, plan.proposal);
      if (a.type != b.type || a.integer != b.integer || a.bulk != b.bulk) abort();
      FormatWriteReply(plan, a, &out);
    }
    if (ReplyLength(out) != out.size()) abort();
    if (!state.CheckIndexes()) abort();
    buffer.erase(0, parser.consumed());
    now += 7;
    if (session.close_after_reply) break;
  }
  if (state.Serialize() != replica.Serialize()) abort();
  return 0;
}
