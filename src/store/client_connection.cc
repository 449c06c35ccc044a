// RESP2 client connections of a store member; see client_connection.h.
#include "store/client_connection.h"

#include <asio/read.hpp>
#include <asio/write.hpp>

#include "base/log.h"
#include "net/tcp.h"
#include "store/resp_writer.h"
#include "store/store_server.h"

namespace nines::store {

namespace {
constexpr size_t kMaxSlots = 4096;          // pause reading beyond this many pending replies
constexpr size_t kMaxOutBytes = 64u << 20;  // and beyond this much unsent output

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
  limits.max_request_bytes = server->config().max_request_bytes;
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
}

uint64_t ClientConnection::AddSlot() {
  slots_.emplace_back();
  return first_seq_ + slots_.size() - 1;
}

void ClientConnection::Handle(const std::vector<std::string_view>& args) {
  uint64_t seq = AddSlot();
  CommandContext context = server_->Context();
  CommandPlan plan;
  std::string out;
  PrepareCommand(args, session_, context, &plan, &out);
  switch (plan.kind) {
    case PlanKind::kReply:
      if (session_.close_after_reply) closing_ = true;
      Complete(seq, std::move(out));
      return;
    case PlanKind::kRead:
      if (!plan.linearizable || session_.stale_reads) {
        ExecuteRead(plan, args, context, server_->state(), &out);
        Complete(seq, std::move(out));
        return;
      }
      break;
    case PlanKind::kWrite:
      break;
  }
  auto request = std::make_shared<Request>();
  request->args.assign(args.begin(), args.end());
  request->write = plan.kind == PlanKind::kWrite;
  request->plan = std::move(plan);
  request->plan.pattern = {};
  request->deadline_ms = server_->RequestDeadline();
  Route(std::move(request), seq);
}

void ClientConnection::Route(std::shared_ptr<Request> request, uint64_t seq) {
  if (closed_) return;
  auto self = shared_from_this();
  if (server_->IsLeader()) {
    bool started;
    if (request->write) {
      started = server_->ProposeWrite(
          request->plan.proposal, &last_write_index_,
          [self, request, seq](const KvResult* result, uint64_t, std::string error) {
            std::string out;
            if (result) {
              FormatWriteReply(request->plan, *result, &out);
            } else {
              AppendError(&out, error);
            }
            self->Complete(seq, std::move(out));
          });
    } else {
      started =
          server_->StartRead(last_write_index_, [self, request, seq](bool ok, std::string error) {
            if (!ok) {
              std::string out;
              AppendError(&out, error);
              self->Complete(seq, std::move(out));
              return;
            }
            self->RunRead(*request, seq);
          });
    }
    if (started) return;
  } else if (server_->leader() != 0) {
    Forward(std::move(request), seq);
    return;
  }
  server_->WhenLeaderKnown(request->deadline_ms, [self, request, seq](bool timed_out) {
    if (timed_out) {
      std::string out;
      AppendError(&out, "TRYAGAIN no leader: the group has no elected leader right now");
      self->Complete(seq, std::move(out));
      return;
    }
    self->Route(request, seq);
  });
}

void ClientConnection::RunRead(const Request& request, uint64_t seq) {
  std::vector<std::string_view> args(request.args.begin(), request.args.end());
  CommandContext context = server_->Context();
  CommandPlan plan;
  std::string out;
  ClientSession session = session_;
  session.authenticated = true;
  PrepareCommand(args, session, context, &plan, &out);
  if (plan.kind == PlanKind::kRead) {
    out.clear();
    ExecuteRead(plan, args, context, server_->state(), &out);
  }
  Complete(seq, std::move(out));
}

void ClientConnection::Forward(std::shared_ptr<Request> request, uint64_t seq) {
  uint64_t leader = server_->leader();
  if (fwd_ && fwd_leader_ != leader && fwd_slots_.empty()) {
    asio::error_code ignored;
    fwd_->close(ignored);
    fwd_.reset();
  }
  if (!fwd_) {
    const StoreMember* target = server_->MemberByRaftId(leader);
    if (target == nullptr) {
      std::string out;
      AppendError(&out, "TRYAGAIN leader unknown");
      Complete(seq, std::move(out));
      return;
    }
    fwd_ = std::make_unique<asio::ip::tcp::socket>(server_->io());
    fwd_leader_ = leader;
    fwd_connected_ = false;
    fwd_in_.clear();
    fwd_out_.clear();
    if (!server_->config().requirepass.empty()) {
      std::vector<std::string_view> auth = {"AUTH", server_->config().requirepass};
      resp::ReplyWriter w(&fwd_out_);
      w.ArrayHeader(auth.size());
      for (std::string_view a : auth) w.Bulk(a);
      fwd_slots_.emplace_back(0, nullptr);
    }
    auto self = shared_from_this();
    asio::ip::tcp::socket* socket = fwd_.get();
    BindSource(*socket, server_->config().client.host);
    socket->async_connect(ToTcp(target->client), [self, socket](const asio::error_code& ec) {
      if (self->closed_ || self->fwd_.get() != socket) return;
      if (ec) {
        self->ForwardFailed("TRYAGAIN cannot reach the leader: " + ec.message(), true);
        return;
      }
      asio::error_code ignored;
      socket->set_option(asio::ip::tcp::no_delay(true), ignored);
      self->fwd_connected_ = true;
      self->ForwardFlush();
      self->ForwardRead();
    });
  }
  resp::ReplyWriter w(&fwd_out_);
  w.ArrayHeader(request->args.size());
  for (const std::string& a : request->args) w.Bulk(a);
  fwd_slots_.emplace_back(seq, std::move(request));
  ++server_->counters().forwarded;
  ForwardFlush();
}

void ClientConnection::ForwardFlush() {
  if (!fwd_ || !fwd_connected_ || fwd_write_busy_ || fwd_out_.empty()) return;
  fwd_writing_.swap(fwd_out_);
  fwd_out_.clear();
  fwd_write_busy_ = true;
  auto self = shared_from_this();
  asio::ip::tcp::socket* socket = fwd_.get();
  asio::async_write(*socket, asio::buffer(fwd_writing_),
                    [self, socket](const asio::error_code& ec, size_t) {
                      if (self->closed_ || self->fwd_.get() != socket) return;
                      self->fwd_write_busy_ = false;
                      if (ec) {
                        self->ForwardFailed("TRYAGAIN lost the connection to the leader", false);
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
          self->ForwardFailed("TRYAGAIN lost the connection to the leader", false);
          return;
        }
        self->fwd_in_.append(self->fwd_chunk_, n);
        size_t offset = 0;
        while (!self->fwd_slots_.empty()) {
          size_t len = RespReplyLength(std::string_view(self->fwd_in_).substr(offset));
          if (len == 0) break;
          uint64_t seq = self->fwd_slots_.front().first;
          self->fwd_slots_.pop_front();
          if (seq != 0) self->Complete(seq, self->fwd_in_.substr(offset, len));
          offset += len;
        }
        self->fwd_in_.erase(0, offset);
        if (self->closed_) return;
        self->ForwardRead();
      });
}

void ClientConnection::ForwardFailed(const std::string& why, bool retry) {
  if (fwd_) {
    asio::error_code ignored;
    fwd_->close(ignored);
    fwd_.reset();
  }
  fwd_connected_ = false;
  fwd_write_busy_ = false;
  std::deque<std::pair<uint64_t, std::shared_ptr<Request>>> failed;
  failed.swap(fwd_slots_);
  auto self = shared_from_this();
  for (auto& [seq, request] : failed) {
    if (seq == 0) continue;
    if (retry && server_->NowMs() < request->deadline_ms) {
      // Nothing reached the leader: try again once the tick sees a leader
      // (the dead one until the election, then the new one).
      std::shared_ptr<Request> r = request;
      uint64_t s = seq;
      server_->WhenLeaderKnown(r->deadline_ms, [self, r, s](bool timed_out) {
        if (timed_out) {
          std::string out;
          AppendError(&out, "TRYAGAIN no reachable leader");
          self->Complete(s, std::move(out));
          return;
        }
        self->Route(r, s);
      });
      continue;
    }
    std::string out;
    AppendError(&out, why);
    Complete(seq, std::move(out));
  }
}

void ClientConnection::Complete(uint64_t seq, std::string reply) {
  if (closed_ || seq < first_seq_ || seq >= first_seq_ + slots_.size()) return;
  Slot& slot = slots_[seq - first_seq_];
  slot.reply = std::move(reply);
  slot.done = true;
  while (!slots_.empty() && slots_.front().done) {
    out_ += slots_.front().reply;
    slots_.pop_front();
    ++first_seq_;
  }
  Flush();
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
  asio::error_code ignored;
  socket_.close(ignored);
  if (fwd_) fwd_->close(ignored);
  server_->ConnectionClosed();
}

}  // namespace nines::store
