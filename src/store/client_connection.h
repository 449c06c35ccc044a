// One RESP2 client connection: pipelined requests, replies in request order
// even when some wait for commit or are forwarded to the leader (a slot per
// request, flushed from the front as they complete). A follower forwards
// writes and linearizable reads over one connection to the leader's client
// port and relays the replies.
#pragma once

#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "store/commands.h"
#include "store/resp_parser.h"

namespace nines::store {

class StoreServer;

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(StoreServer* server, asio::ip::tcp::socket socket);
  void Start();

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
    int64_t deadline_ms = 0;  // when waiting for a leader ends with -TRYAGAIN
  };

  void Read();
  void OnInput();
  void Handle(const std::vector<std::string_view>& args);
  void Route(std::shared_ptr<Request> request, uint64_t seq);
  void RunRead(const Request& request, uint64_t seq);
  void Forward(std::shared_ptr<Request> request, uint64_t seq);
  void ForwardRead();
  void ForwardFlush();
  // Fails the forwarded requests; with `retry` (nothing was sent: the connect
  // failed) they are routed again until their deadline instead.
  void ForwardFailed(const std::string& why, bool retry);
  uint64_t AddSlot();
  void Complete(uint64_t seq, std::string reply);
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
  bool reading_paused_ = false;
  bool closing_ = false;
  bool closed_ = false;
  uint64_t last_write_index_ = 0;
  // forwarding to the leader
  std::unique_ptr<asio::ip::tcp::socket> fwd_;
  uint64_t fwd_leader_ = 0;
  bool fwd_connected_ = false;
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
