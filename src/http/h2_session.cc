// H2Session over nghttp2: callbacks that turn frames into H2Handler calls,
// the response body data source, and the counting behind rapid-reset and
// header-size protection.
#include "http/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

#include "base/coding.h"
#include "http/parser.h"
#include "http/response.h"

namespace nines::http {

const char* H2LimitName(H2Limit limit) {
  switch (limit) {
    case H2Limit::kStreams:
      return "streams";
    case H2Limit::kHeaderListSize:
      return "header_list_size";
    case H2Limit::kResets:
      return "resets";
    case H2Limit::kContinuations:
      return "continuations";
    case H2Limit::kProtocol:
      return "protocol";
  }
  return "?";
}

namespace {

// RFC 9113 6.5.2: a field's size in the header list is name + value + 32.
constexpr size_t kFieldOverhead = 32;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

nghttp2_nv MakeNv(const std::string& name, const std::string& value) {
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = NGHTTP2_NV_FLAG_NONE;
  return nv;
}

// Fields HTTP/2 forbids (RFC 9113 8.2.2): the HTTP/1.1 hop-by-hop set.
bool ConnectionSpecific(std::string_view lower_name) {
  return lower_name == "connection" || lower_name == "keep-alive" ||
         lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade" || lower_name == "te";
}

}  // namespace

// The nghttp2 callbacks, as static members of a friend so they can reach
// the session's private state.
struct H2Callbacks {
  static H2Session* Self(void* user_data) { return static_cast<H2Session*>(user_data); }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    H2Session* s = Self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    s->streams_[frame->hd.stream_id] = H2Session::Stream();
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* user_data) {
    H2Session* s = Self(user_data);
    H2Session::Stream* st = s->Find(frame->hd.stream_id);
    if (st == nullptr || st->too_large) return 0;
    st->header_bytes += namelen + valuelen + kFieldOverhead;
    if (st->header_bytes > s->limits_.max_header_list_size) {
      // An HPACK bomb, or just too many cookies: nothing more is kept (the
      // decoder still runs, to keep its table in step with the client's).
      st->too_large = true;
      st->request = H2Request();
      s->handler_->OnLimit(H2Limit::kHeaderListSize);
      return 0;
    }
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: dropped
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    H2Request& r = st->request;
    if (!n.empty() && n[0] == ':') {
      if (n == ":method") r.method = v;
      if (n == ":scheme") r.scheme = v;
      if (n == ":authority") r.authority = v;
      if (n == ":path") r.path = v;
      return 0;
    }
    r.headers.emplace_back(std::string(n), std::string(v));
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    H2Session* s = Self(user_data);
    int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_RST_STREAM:
        if (s->CountReset()) return 0;
        break;
      case NGHTTP2_HEADERS: {
        H2Session::Stream* st = s->Find(id);
        if (st == nullptr) return 0;
        bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          st->request_ended = end;
          if (st->too_large) {
            s->SubmitLocalResponse(id, 431);
            return 0;
          }
          st->request.has_body = !end;
          st->handed_over = true;
          s->handler_->OnRequest(id, std::move(st->request));
          st = s->Find(id);  // the handler may have answered and reset it
          if (end && st != nullptr) s->handler_->OnRequestEnd(id);
        } else if (end) {  // trailers end the body
          st->request_ended = true;
          if (st->handed_over) s->handler_->OnRequestEnd(id);
        }
        break;
      }
      case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
          H2Session::Stream* st = s->Find(id);
          if (st != nullptr) {
            st->request_ended = true;
            if (st->handed_over) s->handler_->OnRequestEnd(id);
          }
        }
        break;
      default:
        break;
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                         size_t len, void* user_data) {
    H2Session* s = Self(user_data);
    H2Session::Stream* st = s->Find(id);
    if (st == nullptr || !st->handed_over) {
      // Nobody wants these bytes: reopen the windows now.
      nghttp2_session_consume(session, id, len);
      return 0;
    }
    st->unconsumed += len;
    s->handler_->OnRequestData(id, std::string_view(reinterpret_cast<const char*>(data), len));
    return 0;
  }

  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    H2Session* s = Self(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
        s->close_reason_.empty()) {
      // nghttp2 answered a protocol error with a GOAWAY of its own.
      s->close_reason_ = "h2: protocol error (" +
                         std::string(nghttp2_http2_strerror(frame->goaway.error_code)) + ")";
      s->handler_->OnLimit(H2Limit::kProtocol);
    }
    bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (!end || (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)) return 0;
    H2Session::Stream* st = s->Find(frame->hd.stream_id);
    // Answered before the request ended (a 431, a 429, an early 413): the
    // rest of the request is not wanted (RFC 9113 8.1).
    if (st != nullptr && !st->request_ended) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session* session, int32_t id, uint32_t error_code,
                           void* user_data) {
    H2Session* s = Self(user_data);
    auto it = s->streams_.find(id);
    if (it == s->streams_.end()) return 0;
    // Body bytes the handler never consumed still hold the connection window.
    if (it->second.unconsumed > 0) {
      nghttp2_session_consume_connection(session, it->second.unconsumed);
    }
    bool handed_over = it->second.handed_over;
    s->streams_.erase(it);
    if (handed_over) s->handler_->OnStreamClose(id, error_code);
    return 0;
  }

  static int OnInvalidFrame(nghttp2_session*, const nghttp2_frame* frame, int lib_error_code,
                            void* user_data) {
    H2Session* s = Self(user_data);
    if (lib_error_code == NGHTTP2_ERR_REFUSED_STREAM) {
      // Past a limit the client has not acknowledged yet: that stream only.
      s->handler_->OnLimit(H2Limit::kStreams);
      s->CountReset();  // opening streams only to have them refused is rapid reset too
    } else if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
               s->streams_.size() >= s->limits_.max_concurrent_streams &&
               s->close_reason_.empty()) {
      // Past the acknowledged limit: nghttp2 closes the connection
      // (PROTOCOL_ERROR, as RFC 9113 5.1.2 allows).
      s->close_reason_ =
          "more than " + std::to_string(s->limits_.max_concurrent_streams) + " concurrent streams";
      s->handler_->OnLimit(H2Limit::kStreams);
    }
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    H2Session* s = Self(user_data);
    H2Session::Stream* st = s->Find(id);
    if (st == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t available = st->body.size() - st->body_offset;
    size_t before = available;
    size_t n = std::min(length, available);
    std::memcpy(buf, st->body.data() + st->body_offset, n);
    st->body_offset += n;
    available -= n;
    if (available == 0) {
      st->body.clear();
      st->body_offset = 0;
    } else if (st->body_offset > 65536) {
      st->body.erase(0, st->body_offset);
      st->body_offset = 0;
    }
    if (before >= H2Session::kResponseLowWater && available < H2Session::kResponseLowWater) {
      s->drained_.push_back(id);
    }
    if (available == 0 && st->body_end) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      st->deferred = true;
      if (!st->body_end) s->drained_.push_back(id);
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  }
};

H2Session::H2Session(const H2Limits& limits, H2Handler* handler, std::function<int64_t()> now_ms)
    : limits_(limits), handler_(handler), now_ms_(std::move(now_ms)) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, H2Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, H2Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, H2Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, H2Callbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, H2Callbacks::OnFrameSend);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, H2Callbacks::OnStreamClose);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, H2Callbacks::OnInvalidFrame);

  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_continuations(opt, limits_.max_continuations);
  // nghttp2's own reset limiter (GOAWAY INTERNAL_ERROR) stays as a backstop
  // behind ours, which answers ENHANCE_YOUR_CALM and counts.
  uint64_t per_s = std::max<uint64_t>(
      1, uint64_t{limits_.max_resets} * 1000 / std::max<uint32_t>(1, limits_.reset_window_ms));
  nghttp2_option_set_stream_reset_rate_limit(opt, uint64_t{limits_.max_resets} * 4 + 16,
                                             per_s * 4 + 16);
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_session_server_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.initial_window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_size},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  if (limits_.connection_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(limits_.connection_window_size));
  }
}

H2Session::~H2Session() {
  nghttp2_session_del(session_);
}

H2Session::Stream* H2Session::Find(int32_t stream) {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : &it->second;
}

const H2Session::Stream* H2Session::Find(int32_t stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : &it->second;
}

bool H2Session::CountReset() {
  if (failed_ || !close_reason_.empty()) return true;
  int64_t now = now_ms_();
  if (now - reset_window_start_ms_ >= limits_.reset_window_ms) {
    reset_window_start_ms_ = now;
    resets_in_window_ = 0;
  }
  if (++resets_in_window_ <= limits_.max_resets) return false;
  Fail(H2Limit::kResets, NGHTTP2_ENHANCE_YOUR_CALM,
       "rapid reset: more than " + std::to_string(limits_.max_resets) + " streams reset in " +
           std::to_string(limits_.reset_window_ms) + " ms");
  return true;
}

void H2Session::Fail(H2Limit limit, uint32_t error_code, std::string reason) {
  if (!close_reason_.empty()) return;
  close_reason_ = std::move(reason);
  handler_->OnLimit(limit);
  if (!failed_) nghttp2_session_terminate_session(session_, error_code);
}

bool H2Session::Receive(std::string_view bytes) {
  if (failed_) return false;
  ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                       bytes.size());
  if (n < 0) {
    // A fatal error: nghttp2 may not be used again. Say why in a GOAWAY
    // of our own (17 bytes: a frame header and last-stream-id + code).
    failed_ = true;
    bool flood = n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS || n == NGHTTP2_ERR_FLOODED;
    uint32_t code = flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR;
    H2Limit limit =
        n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ? H2Limit::kContinuations : H2Limit::kProtocol;
    if (close_reason_.empty()) {
      close_reason_ = n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                          ? "CONTINUATION flood: more than " +
                                std::to_string(limits_.max_continuations) +
                                " CONTINUATION frames in a header block"
                          : std::string("h2: ") + nghttp2_strerror(static_cast<int>(n));
      handler_->OnLimit(limit);
    }
    int32_t last = nghttp2_session_get_last_proc_stream_id(session_);
    unsigned char frame[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0};
    EncodeBigEndian32(frame + 9, static_cast<uint32_t>(last));
    EncodeBigEndian32(frame + 13, code);
    frame[9] &= 0x7f;
    raw_output_.append(reinterpret_cast<const char*>(frame), sizeof(frame));
    return false;
  }
  return close_reason_.empty();
}

void H2Session::TakeOutput(std::string* out, size_t max_bytes) {
  if (!raw_output_.empty()) {
    out->append(raw_output_);
    raw_output_.clear();
  }
  if (failed_) return;
  size_t taken = 0;
  while (taken < max_bytes) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      failed_ = true;
      if (close_reason_.empty())
        close_reason_ = std::string("h2: ") + nghttp2_strerror(static_cast<int>(n));
      break;
    }
    if (n == 0) break;
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    taken += static_cast<size_t>(n);
  }
  // Told only now, outside nghttp2: the handler may queue more body.
  std::vector<int32_t> drained;
  drained.swap(drained_);
  for (int32_t id : drained) {
    if (Find(id) != nullptr) handler_->OnResponseDrained(id);
  }
}

bool H2Session::Alive() const {
  if (failed_) return false;
  return nghttp2_session_want_read(session_) || nghttp2_session_want_write(session_);
}

bool H2Session::HasOutput() const {
  return !raw_output_.empty() || (!failed_ && nghttp2_session_want_write(session_));
}

void H2Session::SubmitResponse(int32_t stream, int status,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               bool has_body) {
  if (failed_ || Find(stream) == nullptr) return;
  std::vector<std::string> storage;
  storage.reserve(2 + headers.size() * 2);
  storage.push_back(":status");
  storage.push_back(std::to_string(status));
  for (const auto& [name, value] : headers) {
    std::string lower = Lower(name);
    if (ConnectionSpecific(lower)) continue;
    storage.push_back(std::move(lower));
    storage.push_back(value);
  }
  std::vector<nghttp2_nv> nva;
  nva.reserve(storage.size() / 2);
  for (size_t i = 0; i + 1 < storage.size(); i += 2)
    nva.push_back(MakeNv(storage[i], storage[i + 1]));
  nghttp2_data_provider provider;
  provider.source.ptr = nullptr;
  provider.read_callback = H2Callbacks::ReadBody;
  nghttp2_submit_response(session_, stream, nva.data(), nva.size(), has_body ? &provider : nullptr);
}

void H2Session::SubmitLocalResponse(int32_t stream, int status,
                                    const std::vector<std::pair<std::string, std::string>>& headers,
                                    bool head_request) {
  std::string body = std::to_string(status) + " " + StatusReason(status) + "\n";
  std::vector<std::pair<std::string, std::string>> all = headers;
  all.emplace_back("content-type", "text/plain");
  all.emplace_back("content-length", std::to_string(body.size()));
  SubmitResponse(stream, status, all, !head_request);
  if (!head_request) SendBody(stream, body, true);
}

void H2Session::SendBody(int32_t stream, std::string_view data, bool end) {
  Stream* st = Find(stream);
  if (failed_ || st == nullptr) return;
  st->body.append(data);
  st->body_end = st->body_end || end;
  if (st->deferred) {
    st->deferred = false;
    nghttp2_session_resume_data(session_, stream);
  }
}

size_t H2Session::QueuedBody(int32_t stream) const {
  const Stream* st = Find(stream);
  return st == nullptr ? 0 : st->body.size() - st->body_offset;
}

void H2Session::ConsumeBody(int32_t stream, size_t n) {
  Stream* st = Find(stream);
  if (failed_ || st == nullptr) return;
  n = std::min(n, st->unconsumed);
  st->unconsumed -= n;
  nghttp2_session_consume(session_, stream, n);
}

void H2Session::ResetStream(int32_t stream, uint32_t error_code) {
  if (failed_ || Find(stream) == nullptr) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, error_code);
}

void H2Session::Shutdown() {
  if (failed_) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

}  // namespace nines::http
