// RESP2 client connections of a store member; see client_connection.h.
#include "store/client_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <limits>

#include "base/log.h"
#include "net/tcp.h"
#include "store/blocking_commands.h"
#include "store/outcome.h"
#include "store/pubsub_commands.h"
#include "store/resp_writer.h"
#include "store/store_server.h"
#include "store/transaction_commands.h"

namespace nines::store {

namespace {
constexpr size_t kMaxSlots = 4096;          // pause reading beyond this many pending replies
constexpr size_t kMaxOutBytes = 64u << 20;  // and beyond this much unsent output
constexpr int kForwardCheckMs = 50;         // how often forwarded requests are checked

// Keepalive on the forwarding connection: an idle connection to a leader that
// vanished is noticed in about 5 s even when no request is waiting.
void SetKeepAlive(asio::ip::tcp::socket& socket) {
  asio::error_code ignored;
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  int fd = socket.native_handle();
  int idle = 2, interval = 1, count = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
}

void AppendError(std::string* out, std::string_view text) {
  resp::ReplyWriter(out).Error(text);
}

size_t LineEnd(std::string_view in, size_t from) {
  size_t p = in.find("\r\n", from);
  return p == std::string_view::npos ? 0 : p + 2;
}

// Returns the end offset of the reply starting at `pos`, or 0 if incomplete.
size_t ReplyEnd(std::string_view in, size_t pos, int depth) {
  if (pos >= in.size() || depth > 32) return 0;
  size_t line = LineEnd(in, pos);
  if (line == 0) return 0;
  char type = in[pos];
  if (type == '+' || type == '-' || type == ':') return line;
  long long n = std::atoll(std::string(in.substr(pos + 1, line - pos - 3)).c_str());
  if (type == '$') {
    if (n < 0) return line;
    size_t end = line + static_cast<size_t>(n) + 2;
    return end <= in.size() ? end : 0;
  }
  if (type == '*') {
    size_t at = line;
    for (long long i = 0; i < n; ++i) {
      at = ReplyEnd(in, at, depth + 1);
      if (at == 0) return 0;
    }
    return at;
  }
  return line;  // unknown type: treat as a line
}
}  // namespace

size_t RespReplyLength(std::string_view in) {
  return ReplyEnd(in, 0, 0);
}

ClientConnection::ClientConnection(StoreServer* server, asio::ip::tcp::socket socket)
    : server_(server), socket_(std::move(socket)) {
  resp::Limits limits;
  // Room for a forwarded write's wrapping; Handle holds every other
  // command to max_request_bytes itself.
  limits.max_request_bytes = server->config().max_request_bytes + kForwardedExtraBytes;
  parser_ = resp::RequestParser(limits);
  session_.id = server->NextClientId();
  session_.authenticated = server->config().requirepass.empty();
}

void ClientConnection::Start() {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  server_->ConnectionOpened();
  Read();
}

void ClientConnection::Read() {
  if (closed_ || closing_) return;
  if (slots_.size() > kMaxSlots || out_.size() > kMaxOutBytes) {
    reading_paused_ = true;
    return;
  }
  reading_paused_ = false;
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(chunk_), [self](const asio::error_code& ec, size_t n) {
    if (self->closed_) return;
    if (ec) {
      self->Close();
      return;
    }
    self->in_.append(self->chunk_, n);
    self->OnInput();
    self->Read();
  });
}

void ClientConnection::OnInput() {
  size_t offset = 0;
  handling_input_ = true;
  while (!closing_) {
    resp::ParseResult r = parser_.Parse(std::string_view(in_).substr(offset));
    if (r == resp::ParseResult::kCommand) {
      Handle(parser_.args());
      offset += parser_.consumed();
    } else if (r == resp::ParseResult::kNeedMore) {
      offset += parser_.consumed();
      break;
    } else {
      uint64_t seq = AddSlot();
      std::string reply;
      AppendError(&reply, "ERR " + parser_.error());
      closing_ = true;
      Complete(seq, std::move(reply));
      break;
    }
  }
  in_.erase(0, offset);
  handling_input_ = false;
  Flush();  // every reply this chunk produced at once, in one send
}

uint64_t ClientConnection::AddSlot() {
  slots_.emplace_back();
  return first_seq_ + slots_.size() - 1;
}

void ClientConnection::Handle(const std::vector<std::string_view>& received) {
  uint64_t seq = AddSlot();
  // A write forwarded by another member under its request id (outcome.h).
  std::optional<RequestKey> dedup;
  std::vector<std::string_view> forwarded;
  if (IsForwarded(received)) {
    RequestKey key;
    if (Status s = ParseForwarded(received, &key, &forwarded); !s.ok()) {
      std::string out;
      AppendError(&out, s.message());
      Complete(seq, std::move(out));
      return;
    }
    dedup = key;
  }
  if (!dedup && parser_.consumed() > server_->config().max_request_bytes) {
    // What the parser answers at its limit (which leaves room for NINES.FWD).
    std::string out;
    AppendError(&out, "ERR Protocol error: too big request");
    closing_ = true;
    Complete(seq, std::move(out));
    return;
  }
  const std::vector<std::string_view>& args = dedup ? forwarded : received;
  CommandContext context = server_->Context();
  CommandPlan plan;
  std::string out;
  PrepareCommand(args, session_, context, &plan, &out);
  switch (plan.kind) {
    case PlanKind::kReply:
      if (out.starts_with("-OOM ")) ++server_->counters().oom_refused;
      if (session_.close_after_reply) closing_ = true;
      Complete(seq, std::move(out));
      return;
    case PlanKind::kRead:
      if (!plan.linearizable || session_.stale_reads) {
        ExecuteRead(plan, args, context, server_->state(), &out);
        Complete(seq, std::move(out));
        return;
      }
      if (!dedup && JoinReadGroup(args, plan, seq)) return;
      break;
    case PlanKind::kWrite:
      break;
    case PlanKind::kPubSub:
      Complete(seq, RunPubSub(args, plan));
      return;
    case PlanKind::kExec: {
      auto request = std::make_shared<Request>();
      request->exec = true;
      request->write = true;
      request->exec_items = TakeTransaction(session_, context, &request->exec_watches);
      request->deadline_ms = server_->RequestDeadline();
      Route(std::move(request), seq);
      return;
    }
    case PlanKind::kWatch: {
      if (!session_.watched) session_.watched = std::make_shared<WatchList>();
      auto request = std::make_shared<Request>();
      request->watch = true;
      request->args.emplace_back(kWatchPointCommand);
      request->watch_keys.assign(args.begin() + 1, args.end());
      request->watch_target = session_.watched;
      if (session_.stale_reads) {  // READONLY: this member's view, as its reads
        Complete(seq, FinishWatch(*request, server_->state().applied_index(), context.now_ms));
        return;
      }
      request->plan.kind = PlanKind::kRead;
      request->plan.spec = LookupCommand(kWatchPointCommand);
      request->deadline_ms = server_->RequestDeadline();
      pending_watches_.push_back(seq);
      Route(std::move(request), seq);
      return;
    }
  }
  auto request = std::make_shared<Request>();
  request->args.assign(args.begin(), args.end());
  request->write = plan.kind == PlanKind::kWrite;
  request->plan = std::move(plan);
  request->plan.pattern = {};
  request->deadline_ms = server_->RequestDeadline();
  if (request->write) request->dedup = dedup;
  if (request->plan.block && !dedup) {
    // Waits up to its timeout (and a forwarded one gets a request timeout
    // more for its reply); never retried once sent (ForwardFailed).
    request->block = true;
    const int64_t timeout = request->plan.block_timeout_ms;
    const int64_t now = server_->NowMs();
    const int64_t far = std::numeric_limits<int64_t>::max() / 4;
    request->block_deadline_ms = timeout == 0 || timeout >= far - now ? 0 : now + timeout;
    request->deadline_ms = request->block_deadline_ms == 0
                               ? far
                               : request->deadline_ms + request->plan.block_timeout_ms;
  }
  Route(std::move(request), seq);
}

std::string ClientConnection::RunPubSub(std::span<const std::string_view> args,
                                        const CommandPlan& plan) {
  std::string out;
  PubSubCall call;
  call.args = args;
  call.spec = plan.spec;
  call.registry = &server_->pubsub();
  call.client = this;
  call.publish = [this](std::string_view channel, std::string_view message) {
    return server_->Publish(channel, message);
  };
  call.out = &out;
  ExecutePubSub(call);
  session_.pubsub_subscriptions = server_->pubsub().SubscriptionCount(this);
  if (session_.pubsub_subscriptions == 0) pubsub_soft_since_ms_ = -1;
  return out;
}

void ClientConnection::Push(std::string_view frame) {
  if (closed_ || closing_) return;
  if (slots_.empty()) {
    out_.append(frame);
  } else {
    Complete(AddSlot(), std::string(frame));  // behind the replies still due
  }
  if (OverOutputLimit()) {
    ++server_->pubsub_counters().output_limit_closes;
    LogWarn("store", "client {} closed for overcoming of the pubsub output buffer limit ({} bytes)",
            session_.id, out_.size() + writing_.size());
    Close();
    return;
  }
  if (!handling_input_) ScheduleFlush();
}

bool ClientConnection::OverOutputLimit() {
  const StoreConfig& config = server_->config();
  uint64_t pending = out_.size() + writing_.size();
  for (const Slot& slot : slots_) pending += slot.reply.size();
  if (config.pubsub_output_hard_bytes != 0 && pending >= config.pubsub_output_hard_bytes) {
    return true;
  }
  if (config.pubsub_output_soft_bytes == 0 || pending < config.pubsub_output_soft_bytes) {
    pubsub_soft_since_ms_ = -1;
    return false;
  }
  const int64_t now = server_->NowMs();
  if (pubsub_soft_since_ms_ < 0) pubsub_soft_since_ms_ = now;
  return now - pubsub_soft_since_ms_ > int64_t{config.pubsub_output_soft_seconds} * 1000;
}

void ClientConnection::Route(std::shared_ptr<Request> request, uint64_t seq, bool retried) {
  if (closed_) return;
  // This member leads now, with requests still in flight to the old leader
  // (forwarded before the change): they are sent again first, in order
  // (Retry), and this one waits behind them. Proposed (or read) at once, it
  // would overtake them: a pipelined write applied before an earlier one.
  if (server_->IsLeader() && HasForwardedRequests()) {
    ForwardFailed("this member became the leader");
  }
  // Requests being sent again go first: pipelined commands keep their order
  // (a retried one too, behind any older request that is waiting again).
  if (!retry_queue_.empty() && retry_queue_.front().seq < seq) {
    Retry(request, seq, "no leader: the group has no elected leader right now");
    return;
  }
  // A write waits while earlier reads of this connection wait for their
  // barrier: applied first, it would show in their replies (a read seeing a
  // write sent after it). Whatever comes after it waits behind it.
  // An EXEC also waits for the WATCHes before it (forwarded ones are not
  // read barriers of this connection).
  if (!parked_.empty() || blocking_ || (request->write && barrier_reads_ > 0) ||
      (request->exec && !pending_watches_.empty())) {
    parked_.push_back(Parked{seq, std::move(request)});
    return;
  }
  if (request->exec && request->args.empty()) {
    request->args = ExecRequestArgs(request->exec_watches.get(), request->exec_items);
    request->exec_items.clear();
    request->exec_watches.reset();
  }
  auto self = shared_from_this();
  if (server_->IsLeader()) {
    bool started;
    if (request->exec && request->plan.kind != PlanKind::kWrite && !PrepareExec(*request, seq)) {
      return;
    }
    if (request->block) {
      started = ProposeBlockingPop(request, seq);
    } else if (request->write) {
      started = server_->ProposeWrite(
          request->plan.proposal, &last_write_index_,
          [self, request, seq](const KvResult* result, uint64_t, std::string error) {
            std::string out;
            if (result) {
              FormatWriteReply(request->plan, *result, &out);
            } else {
              AppendError(&out, Reclassify(*request, request->sends, std::move(error)));
            }
            self->Complete(seq, std::move(out));
          },
          request->dedup ? &*request->dedup : nullptr);
    } else {
      started = server_->StartRead(last_write_index_,
                                   [self, request, seq](bool ok, const std::string& error) {
                                     if (!ok) {
                                       std::string out;
                                       AppendError(&out, error);
                                       self->Complete(seq, std::move(out));
                                     } else {
                                       self->RunRead(*request, seq);
                                     }
                                     self->BarrierDone();
                                   });
      if (started) ++barrier_reads_;
    }
    if (started) return;
  } else if (server_->leader() != 0) {
    Forward(std::move(request), seq, retried);
    return;
  }
  Retry(request, seq, "no leader: the group has no elected leader right now");
}

void ClientConnection::Retry(const std::shared_ptr<Request>& request, uint64_t seq,
                             const std::string& why) {
  if (closed_) return;
  if (server_->NowMs() >= request->deadline_ms) {
    std::string out;
    AppendError(&out, FinalError(*request, why));
    Complete(seq, std::move(out));
    return;
  }
  // In arrival order: requests sent again after a lost forwarding
  // connection are older than those that queued behind them meanwhile.
  auto at = retry_queue_.end();
  while (at != retry_queue_.begin() && std::prev(at)->seq > seq) --at;
  retry_queue_.insert(at, Retrying{seq, request, why});
  WaitForLeader();
}

void ClientConnection::WaitForLeader() {
  if (retry_waiting_ || retry_queue_.empty() || closed_) return;
  int64_t deadline = retry_queue_.front().request->deadline_ms;
  for (const Retrying& r : retry_queue_) deadline = std::min(deadline, r.request->deadline_ms);
  retry_waiting_ = true;
  auto self = shared_from_this();
  server_->WhenLeaderKnown(deadline, [self](bool timed_out) {
    self->retry_waiting_ = false;
    if (self->closed_) return;
    std::deque<Retrying> queue;
    queue.swap(self->retry_queue_);
    const int64_t now = self->server_->NowMs();
    for (Retrying& r : queue) {
      if (timed_out && now < r.request->deadline_ms) {
        self->retry_queue_.push_back(std::move(r));  // still has time: keeps waiting
      } else if (timed_out) {
        std::string out;
        AppendError(&out, FinalError(*r.request, r.why));
        self->Complete(r.seq, std::move(out));
      } else {
        self->Route(r.request, r.seq, true);  // in order; may queue again behind older ones
      }
    }
    self->WaitForLeader();
  });
}

std::string ClientConnection::FinalError(const Request& request, const std::string& why) {
  // A write handed to a leader may have been applied; nothing else was.
  if (request.write && request.sent) return UnknownOutcomeError(why);
  return TryAgainError(why);
}

std::string ClientConnection::Reclassify(const Request& request, int earlier_sends,
                                         std::string error) {
  if (!request.write || earlier_sends == 0 || !IsRetryableRefusal(error)) return error;
  return UnknownOutcomeError(error.substr(error.find(' ') + 1) +
                             " (an earlier attempt may have been applied)");
}

bool ClientConnection::PrepareExec(Request& request, uint64_t seq) {
  std::vector<std::string_view> args(request.args.begin(), request.args.end());
  ClientSession session;  // the items were checked with the client's session
  session.authenticated = true;
  std::string out;
  PrepareCommand(args, session, server_->Context(), &request.plan, &out);
  if (request.plan.kind == PlanKind::kWrite) return true;
  Complete(seq, std::move(out));
  return false;
}

std::string ClientConnection::FinishWatch(const Request& request, uint64_t index, int64_t time_ms) {
  for (const std::string& key : request.watch_keys) {
    request.watch_target->push_back(WatchedKey{key, index, time_ms});
  }
  return "+OK\r\n";
}

std::string ClientConnection::FinishForwardedWatch(const Request& request, std::string reply) {
  uint64_t index = 0;
  int64_t time_ms = 0;
  if (!ParseWatchPoint(reply, &index, &time_ms)) return reply;  // an error: WATCH failed
  return FinishWatch(request, index, time_ms);
}

void ClientConnection::RunRead(const Request& request, uint64_t seq) {
  if (request.watch) {
    Complete(seq,
             FinishWatch(request, server_->state().applied_index(), server_->Context().now_ms));
    return;
  }
  std::vector<std::string_view> args(request.args.begin(), request.args.end());
  ExecuteBarrierRead(args, request.plan.spec, seq);
}

void ClientConnection::ExecuteBarrierRead(std::span<const std::string_view> args,
                                          const CommandSpec* spec, uint64_t seq) {
  CommandContext context = server_->Context();
  if (spec != nullptr && spec->prepare == nullptr && spec->read != nullptr) {
    // A plain read (GET, MGET, EXISTS...): arity was all there was to check.
    std::string* out = ReplyBuffer(seq);
    if (out == nullptr) return;
    CommandPlan plan;
    plan.kind = PlanKind::kRead;
    plan.spec = spec;
    ExecuteRead(plan, args, context, server_->state(), out);
    FinishReply(seq);
    return;
  }
  std::string out;
  CommandPlan plan;
  // Prepared again as a read; not the session itself (it may be in MULTI
  // by now, which would queue it).
  ClientSession session;
  session.id = session_.id;
  session.authenticated = true;
  session.stale_reads = session_.stale_reads;
  PrepareCommand(args, session, context, &plan, &out);
  if (plan.kind == PlanKind::kRead) {
    out.clear();
    ExecuteRead(plan, args, context, server_->state(), &out);
  }
  Complete(seq, std::move(out));
}

bool ClientConnection::JoinReadGroup(const std::vector<std::string_view>& args, CommandPlan& plan,
                                     uint64_t seq) {
  // The conditions under which Route would start this read's barrier at once.
  if (!server_->IsLeader() || !retry_queue_.empty() || !parked_.empty() || blocking_ ||
      HasForwardedRequests()) {
    return false;
  }
  StoreNode& node = server_->node();
  if (!read_group_ || read_group_->batch != node.OpenReadBatch() ||
      read_group_->min_index != last_write_index_) {
    std::shared_ptr<ReadGroup> group;
    if (spare_group_ && spare_group_.use_count() == 1) {
      group = std::move(spare_group_);
      group->arena.clear();
      group->spans.clear();
      group->items.clear();
    } else {
      group = std::make_shared<ReadGroup>();
    }
    group->owner = shared_from_this();
    if (!node.StartRead(last_write_index_, [group](bool ok, const std::string& error) {
          std::shared_ptr<ClientConnection> owner = std::move(group->owner);
          owner->FinishReadGroup(group, ok, error);
        })) {
      group->owner.reset();
      read_group_.reset();
      return false;
    }
    ++barrier_reads_;
    group->batch = node.OpenReadBatch();
    group->min_index = last_write_index_;
    read_group_ = std::move(group);
  }
  ReadGroup& group = *read_group_;
  ReadGroup::Item item;
  item.seq = seq;
  item.first = static_cast<uint32_t>(group.spans.size());
  item.count = static_cast<uint32_t>(args.size());
  item.spec = plan.spec;
  for (std::string_view arg : args) {
    group.spans.emplace_back(static_cast<uint32_t>(group.arena.size()),
                             static_cast<uint32_t>(arg.size()));
    group.arena.append(arg);
  }
  group.items.push_back(item);
  return true;
}

void ClientConnection::FinishReadGroup(const std::shared_ptr<ReadGroup>& group, bool ok,
                                       const std::string& error) {
  if (read_group_ == group) read_group_.reset();
  spare_group_ = group;  // reusable once the node drops its callback
  if (closed_) return;
  // The node counted one read (this callback); the metric counts each.
  if (ok && !group->items.empty()) server_->counters().reads_served += group->items.size() - 1;
  for (const ReadGroup::Item& item : group->items) {
    if (!ok) {
      std::string out;
      AppendError(&out, error);
      Complete(item.seq, std::move(out));
      continue;
    }
    read_args_.clear();
    for (uint32_t i = item.first; i < item.first + item.count; ++i) {
      read_args_.emplace_back(group->arena.data() + group->spans[i].first, group->spans[i].second);
    }
    ExecuteBarrierRead(read_args_, item.spec, item.seq);
  }
  BarrierDone();
}

void ClientConnection::BarrierDone() {
  --barrier_reads_;
  RouteParked();
}

void ClientConnection::RouteParked() {
  if (barrier_reads_ > 0 || blocking_ || parked_.empty() || closed_) return;
  // In order: the first write is proposed, a read after it starts a barrier
  // that waits for it, and what follows parks again behind that read.
  std::deque<Parked> parked;
  parked.swap(parked_);
  for (Parked& p : parked) Route(std::move(p.request), p.seq, true);
}

bool ClientConnection::ProposeBlockingPop(const std::shared_ptr<Request>& request, uint64_t seq) {
  auto self = shared_from_this();
  const bool started = server_->ProposeWrite(
      request->plan.proposal, &last_write_index_,
      [self, request, seq](const KvResult* result, uint64_t, const std::string& error) {
        self->BlockingPopDone(request, seq, result, error);
      });
  if (started) blocking_ = request;
  return started;
}

void ClientConnection::BlockingPopDone(const std::shared_ptr<Request>& request, uint64_t seq,
                                       const KvResult* result, const std::string& error) {
  if (closed_) return;
  BlockingWaits& waits = server_->node().blocking();
  if (result == nullptr || !PoppedNothing(*result)) {
    if (request->block_id != 0) waits.Remove(request->block_id);
    std::string out;
    if (result != nullptr) {
      FormatWriteReply(request->plan, *result, &out);
    } else {
      AppendError(&out, error);
    }
    FinishBlocking(request, seq, std::move(out));
    return;
  }
  const bool timed_out =
      request->block_deadline_ms != 0 && server_->NowMs() >= request->block_deadline_ms;
  if (request->block_id != 0) {
    // Woken, but the value went to a write proposed before this pop.
    if (!waits.Rearm(request->block_id)) {
      std::string out;
      AppendError(&out, kErrBlockedLeaderLost);
      FinishBlocking(request, seq, std::move(out));
    } else if (timed_out) {
      waits.Remove(request->block_id);
      FinishBlocking(request, seq, std::string(kBlockTimeoutReply));
    }
    return;
  }
  if (timed_out) {
    FinishBlocking(request, seq, std::string(kBlockTimeoutReply));
    return;
  }
  if (!server_->IsLeader()) {
    std::string out;
    AppendError(&out, kErrBlockedLeaderLost);
    FinishBlocking(request, seq, std::move(out));
    return;
  }
  std::weak_ptr<ClientConnection> weak = shared_from_this();
  request->block_id = waits.Add(BlockedKeys(request->args), BlockedType(request->args[0]),
                                request->block_deadline_ms,
                                [weak, request, seq](BlockWake wake, const std::string& key) {
                                  if (auto self = weak.lock())
                                    self->OnBlockWake(request, seq, wake, key);
                                });
  if (request->block_id == 0) {
    std::string out;
    AppendError(&out, kErrTooManyBlocked);
    FinishBlocking(request, seq, std::move(out));
  }
}

void ClientConnection::OnBlockWake(const std::shared_ptr<Request>& request, uint64_t seq,
                                   BlockWake wake, const std::string& key) {
  if (closed_) return;
  if (wake == BlockWake::kTimeout) {
    FinishBlocking(request, seq, std::string(kBlockTimeoutReply));
    return;
  }
  if (wake == BlockWake::kLeaderLost) {
    std::string out;
    AppendError(&out, kErrBlockedLeaderLost);
    FinishBlocking(request, seq, std::move(out));
    return;
  }
  // kReady: the pop from the key that got a value, proposed now.
  std::vector<std::string> pop = PopFromKeyArgs(request->args, key);
  std::vector<std::string_view> pop_args(pop.begin(), pop.end());
  ClientSession session;  // checked with the client's session when it came
  session.authenticated = true;
  CommandPlan plan;
  std::string out;
  PrepareCommand(pop_args, session, server_->Context(), &plan, &out);
  if (plan.kind != PlanKind::kWrite) {
    server_->node().blocking().Remove(request->block_id);
    FinishBlocking(request, seq, std::move(out));
    return;
  }
  auto self = shared_from_this();
  if (!server_->ProposeWrite(
          std::move(plan.proposal), &last_write_index_,
          [self, request, seq](const KvResult* result, uint64_t, const std::string& error) {
            self->BlockingPopDone(request, seq, result, error);
          })) {
    server_->node().blocking().Remove(request->block_id);
    AppendError(&out, kErrBlockedLeaderLost);
    FinishBlocking(request, seq, std::move(out));
  }
}

void ClientConnection::FinishBlocking(const std::shared_ptr<Request>& request, uint64_t seq,
                                      std::string reply) {
  if (blocking_ == request) blocking_.reset();
  request->block_id = 0;
  Complete(seq, std::move(reply));
  if (!parked_.empty()) {
    asio::post(server_->io(), [self = shared_from_this()] { self->RouteParked(); });
  }
}

void ClientConnection::Forward(std::shared_ptr<Request> request, uint64_t seq, bool retried) {
  uint64_t leader = server_->leader();
  // A new leader: what is in flight to the old one is sent again (below, in order).
  if (fwd_ && fwd_leader_ != leader) ForwardFailed("the leader changed");
  if (!retry_queue_.empty() && retry_queue_.front().seq < seq) {
    Retry(request, seq, "the leader changed");
    return;
  }
  if (!fwd_) {
    const StoreMember* target = server_->MemberByRaftId(leader);
    if (target == nullptr) {
      Retry(request, seq, "leader unknown");
      return;
    }
    fwd_ = std::make_unique<asio::ip::tcp::socket>(server_->io());
    fwd_leader_ = leader;
    ++fwd_generation_;
    fwd_connected_ = false;
    fwd_connect_deadline_ =
        server_->NowMs() + std::clamp(server_->config().request_timeout_ms / 4, 100, 1000);
    fwd_in_.clear();
    fwd_out_.clear();
    if (!server_->config().requirepass.empty()) {
      EncodeForwarded(nullptr, {"AUTH", server_->config().requirepass}, &fwd_out_);
      fwd_slots_.emplace_back(0, nullptr);
    }
    auto self = shared_from_this();
    asio::ip::tcp::socket* socket = fwd_.get();
    BindSource(*socket, server_->config().client.host);
    socket->async_connect(ToTcp(target->client), [self, socket](const asio::error_code& ec) {
      if (self->closed_ || self->fwd_.get() != socket) return;
      if (ec) {
        self->ForwardFailed("cannot reach the leader: " + ec.message());
        return;
      }
      asio::error_code ignored;
      socket->set_option(asio::ip::tcp::no_delay(true), ignored);
      SetKeepAlive(*socket);
      self->fwd_connected_ = true;
      self->ForwardFlush();
      self->ForwardRead();
    });
  }
  // A blocking command goes as it came: the leader blocks it as its own
  // client (a request id would answer its later pops with its first, empty,
  // result).
  const bool with_key = request->write && !request->block;
  if (with_key && !request->dedup) {
    request->dedup = RequestKey{server_->SelfRaftId(), server_->NextRequestId()};
  }
  const size_t before = fwd_out_.size();
  EncodeForwarded(with_key ? &*request->dedup : nullptr, request->args, &fwd_out_);
  // The leader takes what this member would (plus the wrapping of a write);
  // a command that grew past that in its re-encoding (an inline command) is
  // refused here, as the leader would, and nothing else on the forwarding
  // connection is lost with it.
  const uint64_t limit =
      server_->config().max_request_bytes + (request->write ? kForwardedExtraBytes : 0);
  if (fwd_out_.size() - before > limit) {
    fwd_out_.resize(before);
    std::string out;
    AppendError(&out, "ERR Protocol error: too big request");
    Complete(seq, std::move(out));
    return;
  }
  fwd_slots_.emplace_back(seq, std::move(request));
  ++server_->counters().forwarded;
  ArmForwardCheck();
  ForwardFlush();
}

void ClientConnection::ForwardFlush() {
  if (!fwd_ || !fwd_connected_ || fwd_write_busy_ || fwd_out_.empty()) return;
  fwd_writing_.swap(fwd_out_);
  fwd_out_.clear();
  fwd_write_busy_ = true;
  // Everything queued so far is in this write: from now on the leader may apply it.
  for (auto& [seq, request] : fwd_slots_) {
    if (!request || request->sent_on == fwd_generation_) continue;
    request->sent = true;
    request->sent_on = fwd_generation_;
    ++request->sends;
  }
  auto self = shared_from_this();
  asio::ip::tcp::socket* socket = fwd_.get();
  asio::async_write(*socket, asio::buffer(fwd_writing_),
                    [self, socket](const asio::error_code& ec, size_t) {
                      if (self->closed_ || self->fwd_.get() != socket) return;
                      self->fwd_write_busy_ = false;
                      if (ec) {
                        self->ForwardFailed("lost the connection to the leader");
                        return;
                      }
                      self->ForwardFlush();
                    });
}

void ClientConnection::ForwardRead() {
  auto self = shared_from_this();
  asio::ip::tcp::socket* socket = fwd_.get();
  socket->async_read_some(
      asio::buffer(fwd_chunk_), [self, socket](const asio::error_code& ec, size_t n) {
        if (self->closed_ || self->fwd_.get() != socket) return;
        if (ec) {
          self->ForwardFailed("lost the connection to the leader");
          return;
        }
        self->fwd_in_.append(self->fwd_chunk_, n);
        size_t offset = 0;
        while (!self->fwd_slots_.empty()) {
          size_t len = RespReplyLength(std::string_view(self->fwd_in_).substr(offset));
          if (len == 0) break;
          auto [seq, request] = std::move(self->fwd_slots_.front());
          self->fwd_slots_.pop_front();
          std::string reply = self->fwd_in_.substr(offset, len);
          offset += len;
          if (seq == 0) continue;
          if (request && request->watch) reply = FinishForwardedWatch(*request, std::move(reply));
          if (request && reply.size() > 3 && reply[0] == '-') {
            std::string error =
                Reclassify(*request, request->sends - 1, reply.substr(1, reply.size() - 3));
            if (error != std::string_view(reply).substr(1, reply.size() - 3)) {
              reply.clear();
              AppendError(&reply, error);
            }
          }
          self->Complete(seq, std::move(reply));
        }
        self->fwd_in_.erase(0, offset);
        if (self->closed_ || self->fwd_.get() != socket) return;
        self->ForwardRead();
      });
}

void ClientConnection::ArmForwardCheck() {
  if (fwd_timer_armed_ || closed_) return;
  if (!fwd_timer_) fwd_timer_ = std::make_unique<asio::steady_timer>(server_->io());
  fwd_timer_armed_ = true;
  fwd_timer_->expires_after(std::chrono::milliseconds(kForwardCheckMs));
  auto self = shared_from_this();
  fwd_timer_->async_wait([self](const asio::error_code&) {
    self->fwd_timer_armed_ = false;
    if (!self->closed_) self->ForwardCheck();
  });
}

void ClientConnection::ForwardCheck() {
  if (!fwd_) return;
  int64_t now = server_->NowMs();
  if (!fwd_connected_ && now >= fwd_connect_deadline_) {
    ForwardFailed("cannot reach the leader: connect timed out");
    return;
  }
  uint64_t leader = server_->leader();
  if (leader != 0 && leader != fwd_leader_ && !fwd_slots_.empty()) {
    ForwardFailed("the leader changed");
    return;
  }
  for (const auto& [seq, request] : fwd_slots_) {
    if (request && now >= request->deadline_ms) {
      // Replies come in order: a late one holds back the rest, so the
      // connection goes (the others are sent again on a new one).
      ForwardFailed("no reply from the leader in time");
      return;
    }
  }
  if (!fwd_connected_ || !fwd_slots_.empty()) ArmForwardCheck();
}

bool ClientConnection::HasForwardedRequests() const {
  for (const auto& [seq, request] : fwd_slots_) {
    if (seq != 0 && request) return true;
  }
  return false;
}

void ClientConnection::ForwardFailed(const std::string& why) {
  if (fwd_) {
    asio::error_code ignored;
    fwd_->close(ignored);
    fwd_.reset();
  }
  fwd_connected_ = false;
  fwd_write_busy_ = false;
  fwd_in_.clear();
  fwd_out_.clear();
  ++server_->counters().forward_failures;
  std::deque<std::pair<uint64_t, std::shared_ptr<Request>>> failed;
  failed.swap(fwd_slots_);
  // In order, so they reach the next leader in the order they came. A
  // blocking command the leader had may have popped a value: it is
  // answered, not sent again (it would pop a second one).
  for (auto& [seq, request] : failed) {
    if (seq == 0 || !request) continue;
    if (request->block && request->sent) {
      std::string out;
      AppendError(&out, UnknownOutcomeError(why + " while the client was blocked at the leader"));
      Complete(seq, std::move(out));
      continue;
    }
    Retry(request, seq, why);
  }
}

void ClientConnection::Complete(uint64_t seq, std::string reply) {
  if (!pending_watches_.empty()) {
    auto it = std::find(pending_watches_.begin(), pending_watches_.end(), seq);
    if (it != pending_watches_.end()) {
      pending_watches_.erase(it);
      // An EXEC parked behind it may go; not from inside this call.
      if (pending_watches_.empty() && !parked_.empty()) {
        asio::post(server_->io(), [self = shared_from_this()] { self->RouteParked(); });
      }
    }
  }
  if (closed_ || seq < first_seq_ || seq >= first_seq_ + slots_.size()) return;
  Slot& slot = slots_[seq - first_seq_];
  slot.reply = std::move(reply);
  slot.done = true;
  while (!slots_.empty() && slots_.front().done) {
    out_ += slots_.front().reply;
    slots_.pop_front();
    ++first_seq_;
  }
  if (!handling_input_) ScheduleFlush();
}

std::string* ClientConnection::ReplyBuffer(uint64_t seq) {
  if (closed_ || seq < first_seq_ || seq >= first_seq_ + slots_.size()) return nullptr;
  return seq == first_seq_ ? &out_ : &slots_[seq - first_seq_].reply;
}

void ClientConnection::FinishReply(uint64_t seq) {
  if (closed_ || seq < first_seq_ || seq >= first_seq_ + slots_.size()) return;
  if (seq != first_seq_) {
    slots_[seq - first_seq_].done = true;
    return;
  }
  // Written into out_ already; the replies done behind it follow.
  slots_.pop_front();
  ++first_seq_;
  while (!slots_.empty() && slots_.front().done) {
    out_ += slots_.front().reply;
    slots_.pop_front();
    ++first_seq_;
  }
  if (!handling_input_) ScheduleFlush();
}

void ClientConnection::ScheduleFlush() {
  // A write in progress flushes again when it completes.
  if (flush_posted_ || write_busy_ || closed_) return;
  flush_posted_ = true;
  asio::post(server_->io(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->Flush();
  });
}

void ClientConnection::Flush() {
  if (closed_ || write_busy_) return;
  if (out_.empty()) {
    if (closing_ && slots_.empty()) Close();
    return;
  }
  writing_.swap(out_);
  out_.clear();
  write_busy_ = true;
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(writing_), [self](const asio::error_code& ec, size_t) {
    if (self->closed_) return;
    self->write_busy_ = false;
    if (ec) {
      self->Close();
      return;
    }
    self->Flush();
    if (self->reading_paused_) self->Read();
  });
}

void ClientConnection::Close() {
  if (closed_) return;
  closed_ = true;
  if (blocking_ && blocking_->block_id != 0) server_->node().blocking().Remove(blocking_->block_id);
  blocking_.reset();
  server_->pubsub().RemoveClient(this);
  asio::error_code ignored;
  socket_.close(ignored);
  if (fwd_) fwd_->close(ignored);
  if (fwd_timer_) fwd_timer_->cancel();
  server_->ConnectionClosed();
}

}  // namespace nines::store
