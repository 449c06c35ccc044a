// One RESP2 client connection: pipelined requests, replies in request order
// even when some wait for commit or are forwarded to the leader (a slot per
// request, flushed from the front as they complete). A follower forwards
// writes and linearizable reads over one connection to the leader's client
// port and relays the replies. Forwarding is bounded: a connect timeout,
// TCP keepalive, and each request's deadline; a lost connection or a new
// leader sends the requests again (a write under its first request id, so
// it is applied at most once) until their deadline. At the deadline a write
// that was sent gets -UNKNOWN, anything else -TRYAGAIN (store/outcome.h).
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/blocking_waits.h"
#include "store/commands.h"
#include "store/pubsub_registry.h"
#include "store/request_dedup.h"
#include "store/resp_parser.h"

namespace nines::store {

class StoreServer;

class ClientConnection : public std::enable_shared_from_this<ClientConnection>,
                         public PubSubSubscriber {
 public:
  ClientConnection(StoreServer* server, asio::ip::tcp::socket socket);
  void Start();
  // A published message for this subscriber: after every reply before it.
  // Over the pubsub output limit the connection is closed instead.
  void Push(std::string_view frame) override;

 private:
  struct Slot {
    std::string reply;
    bool done = false;
  };
  // A request that waits (for commit, a read barrier, a leader): owns its arguments.
  struct Request {
    std::vector<std::string> args;
    CommandPlan plan;
    bool write = false;
    int64_t deadline_ms = 0;  // when waiting (for a leader, a reply) ends
    // A write's request id once it was forwarded (or arrived forwarded):
    // every retry proposes it under this id.
    std::optional<RequestKey> dedup;
    bool sent = false;     // handed to a forwarding connection: may have been applied
    int sends = 0;         // forwarding connections it was handed to
    uint64_t sent_on = 0;  // the last of them (fwd_generation_)
    // EXEC: a write whose args (the NINES.EXEC request) are built when it is
    // first routed, once the WATCHes before it have filled exec_watches.
    bool exec = false;
    std::vector<std::string> exec_items;
    std::shared_ptr<WatchList> exec_watches;
    // WATCH: a read (NINES.WATCHPOINT) whose point is added to watch_target
    // for each of watch_keys.
    bool watch = false;
    std::vector<std::string> watch_keys;
    std::shared_ptr<WatchList> watch_target;
    // BLPOP & co. (plan.block): when its wait ends (0: forever), and its id
    // in the node's BlockingWaits while blocked there.
    bool block = false;
    int64_t block_deadline_ms = 0;
    uint64_t block_id = 0;
  };

  // Reads that wait for one read barrier together: every one joined while
  // the node's open read batch stayed the same (so each would have joined
  // that batch on its own), with the same last write of this connection.
  struct ReadGroup {
    struct Item {
      uint64_t seq = 0;
      uint32_t first = 0;  // index of its first argument in spans
      uint32_t count = 0;
      const CommandSpec* spec = nullptr;  // as PrepareCommand found it
    };
    // The connection, while the group waits (the StartRead callback holds
    // only the group: small enough for std::function to keep inline).
    std::shared_ptr<ClientConnection> owner;
    uint64_t batch = 0;                                // StoreNode::OpenReadBatch() when it started
    uint64_t min_index = 0;                            // the connection's last proposed write then
    std::string arena;                                 // the arguments of every read, back to back
    std::vector<std::pair<uint32_t, uint32_t>> spans;  // (offset, length) in arena
    std::vector<Item> items;
  };

  void Read();
  void OnInput();
  void Handle(const std::vector<std::string_view>& args);
  // retried: called by Retry (else it waits behind requests being retried).
  void Route(std::shared_ptr<Request> request, uint64_t seq, bool retried = false);
  // Routes the request again once a leader is known, or fails it at its deadline.
  void Retry(const std::shared_ptr<Request>& request, uint64_t seq, const std::string& why);
  // Asks the node to call back when a leader is known (or the earliest
  // deadline of retry_queue_ passes), then routes the queue in order.
  void WaitForLeader();
  // The final error of a request that ran out of time.
  static std::string FinalError(const Request& request, const std::string& why);
  // A -TRYAGAIN for one attempt of a write that an earlier attempt may have
  // applied is not a promise that nothing was applied: it becomes -UNKNOWN.
  static std::string Reclassify(const Request& request, int earlier_sends, std::string error);
  void RunRead(const Request& request, uint64_t seq);
  // WATCH taken at (index, time): adds its keys to the watch list; the reply.
  static std::string FinishWatch(const Request& request, uint64_t index, int64_t time_ms);
  // A WATCH's reply from the leader (NINES.WATCHPOINT): +OK, or its error.
  static std::string FinishForwardedWatch(const Request& request, std::string reply);
  // EXEC on the leader: the NINES.EXEC request prepared into one proposal;
  // false (and the request is answered) when it cannot be.
  bool PrepareExec(Request& request, uint64_t seq);
  // Routes the parked requests again, in order, unless a read barrier of
  // this connection still waits.
  void RouteParked();
  // Runs a read whose barrier passed: a plain read (spec has no prepare
  // step) at once, any other prepared again against the context now; args
  // live as long as the call.
  void ExecuteBarrierRead(std::span<const std::string_view> args, const CommandSpec* spec,
                          uint64_t seq);
  // Adds a linearizable read to this connection's open ReadGroup (starting
  // one if needed). False when the read must take the general path (Route):
  // not leader, requests waiting or forwarded, or no barrier can start now.
  bool JoinReadGroup(const std::vector<std::string_view>& args, CommandPlan& plan, uint64_t seq);
  void FinishReadGroup(const std::shared_ptr<ReadGroup>& group, bool ok, const std::string& error);
  // A barrier of this connection's reads was served (or failed): once none
  // waits, the parked requests are routed again, in order.
  void BarrierDone();
  // A blocking command on the leader: proposes its pop; finding nothing, the
  // client blocks (StoreNode::blocking) and the pop is proposed again when a
  // key gets a value. False if it cannot be proposed now (as ProposeWrite).
  bool ProposeBlockingPop(const std::shared_ptr<Request>& request, uint64_t seq);
  void BlockingPopDone(const std::shared_ptr<Request>& request, uint64_t seq,
                       const KvResult* result, const std::string& error);
  void OnBlockWake(const std::shared_ptr<Request>& request, uint64_t seq, BlockWake wake,
                   const std::string& key);
  // The blocking request is answered: the requests behind it go on.
  void FinishBlocking(const std::shared_ptr<Request>& request, uint64_t seq, std::string reply);
  // A kPubSub plan, run at once against the member's registry: its reply.
  std::string RunPubSub(std::span<const std::string_view> args, const CommandPlan& plan);
  // Closes a subscriber whose unsent output is over the hard limit, or over
  // the soft limit for longer than allowed (Redis's checkClientOutputBufferLimits).
  bool OverOutputLimit();
  void Forward(std::shared_ptr<Request> request, uint64_t seq, bool retried);
  void ForwardRead();
  void ForwardFlush();
  // Checks the forwarding connection: connect timeout, request deadlines, a
  // new leader. Runs while requests are forwarded.
  void ForwardCheck();
  void ArmForwardCheck();
  // Drops the forwarding connection; its requests are sent again (Retry).
  void ForwardFailed(const std::string& why);
  // True while client requests wait for a reply on the forwarding connection.
  bool HasForwardedRequests() const;
  uint64_t AddSlot();
  void Complete(uint64_t seq, std::string reply);
  // The buffer seq's reply is written into: out_ itself when it is the next
  // reply due (no copy), else its slot; null when the slot is gone. Append
  // only, then FinishReply(seq).
  std::string* ReplyBuffer(uint64_t seq);
  void FinishReply(uint64_t seq);
  // Writes out_ now, or after the current input chunk, or (for completions
  // from elsewhere: the node, the forwarding connection) once the handlers
  // already queued have run, so a burst of replies leaves in one send.
  void ScheduleFlush();
  void Flush();
  void Close();

  StoreServer* server_;
  asio::ip::tcp::socket socket_;
  resp::RequestParser parser_;
  ClientSession session_;
  std::string in_;
  char chunk_[16 * 1024];
  std::deque<Slot> slots_;
  uint64_t first_seq_ = 1;  // sequence number of slots_.front() (0 means "discard")
  std::string out_;
  std::string writing_;
  bool write_busy_ = false;
  bool handling_input_ = false;  // in OnInput: it flushes at the end
  bool flush_posted_ = false;
  std::shared_ptr<ReadGroup> read_group_;   // the open one, if any
  std::shared_ptr<ReadGroup> spare_group_;  // a finished one, reused with its capacity
  // Read barriers (StartRead calls) of this connection not yet served, and
  // the requests parked behind them: a write (and all after it) waits until
  // every earlier read was executed.
  int barrier_reads_ = 0;
  // The blocking command this connection waits on at the leader (Redis
  // blocks the whole client: later requests park behind it), if any.
  std::shared_ptr<Request> blocking_;
  struct Parked {
    uint64_t seq = 0;
    std::shared_ptr<Request> request;
  };
  std::deque<Parked> parked_;
  // WATCHes not answered yet (seqs): an EXEC parks until none is left.
  std::deque<uint64_t> pending_watches_;
  std::vector<std::string_view> read_args_;  // scratch for ExecuteBarrierRead
  bool reading_paused_ = false;
  int64_t pubsub_soft_since_ms_ = -1;  // when the output went over the soft limit (-1: under)
  bool closing_ = false;
  bool closed_ = false;
  uint64_t last_write_index_ = 0;
  // forwarding to the leader
  std::unique_ptr<asio::ip::tcp::socket> fwd_;
  uint64_t fwd_leader_ = 0;
  uint64_t fwd_generation_ = 0;  // counts forwarding connections
  bool fwd_connected_ = false;
  int64_t fwd_connect_deadline_ = 0;
  std::unique_ptr<asio::steady_timer> fwd_timer_;  // ForwardCheck, while requests are forwarded
  bool fwd_timer_armed_ = false;
  // Requests waiting for a leader (Retry), in arrival (seq) order, and
  // whether a WhenLeaderKnown for them is pending.
  struct Retrying {
    uint64_t seq = 0;
    std::shared_ptr<Request> request;
    std::string why;
  };
  std::deque<Retrying> retry_queue_;
  bool retry_waiting_ = false;
  bool fwd_write_busy_ = false;
  std::string fwd_out_;
  std::string fwd_writing_;
  std::string fwd_in_;
  char fwd_chunk_[16 * 1024];
  // seq per forwarded request, in order (0: discard the reply), and the request.
  std::deque<std::pair<uint64_t, std::shared_ptr<Request>>> fwd_slots_;
};

// Length of the complete RESP2 reply at the start of `in`, or 0 if more is needed.
size_t RespReplyLength(std::string_view in);

}  // namespace nines::store
