// H2Client over nghttp2's client session, and the raw frame helpers.
#include "support/h2_client.h"

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace nines::test {

std::string H2Response::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "";
}

struct H2ClientCallbacks {
  static H2Client* Self(void* p) { return static_cast<H2Client*>(p); }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* p) {
    H2Response& r = Self(p)->responses_[frame->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      r.status = std::stoi(v);
    } else {
      r.headers.emplace_back(std::move(n), std::move(v));
    }
    return 0;
  }
  static int OnData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* p) {
    Self(p)->responses_[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int OnClose(nghttp2_session*, int32_t id, uint32_t code, void* p) {
    H2Response& r = Self(p)->responses_[id];
    r.closed = true;
    r.error_code = code;
    return 0;
  }
  static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      Self(p)->goaway_ = true;
      Self(p)->goaway_code_ = frame->goaway.error_code;
    }
    return 0;
  }
  static ssize_t ReadBody(nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* p) {
    auto& [body, offset] = Self(p)->bodies_[id];
    size_t n = std::min(length, body.size() - offset);
    std::memcpy(buf, body.data() + offset, n);
    offset += n;
    if (offset == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
};

H2Client::H2Client() {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, H2ClientCallbacks::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, H2ClientCallbacks::OnData);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, H2ClientCallbacks::OnClose);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, H2ClientCallbacks::OnFrame);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
  nghttp2_session_client_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
}

H2Client::~H2Client() {
  nghttp2_session_del(session_);
}

int32_t H2Client::Submit(const std::string& method, const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body, const std::string& authority) {
  std::vector<std::pair<std::string, std::string>> all = {
      {":method", method}, {":scheme", "http"}, {":authority", authority}, {":path", path}};
  all.insert(all.end(), headers.begin(), headers.end());
  std::vector<nghttp2_nv> nva;
  for (auto& [n, v] : all) {
    nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                   n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
  }
  nghttp2_data_provider provider;
  provider.source.ptr = nullptr;
  provider.read_callback = H2ClientCallbacks::ReadBody;
  int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                      body.empty() ? nullptr : &provider, nullptr);
  if (id > 0 && !body.empty()) bodies_[id] = {body, 0};
  if (id > 0) responses_[id];
  return id;
}

std::string H2Client::Output() {
  std::string out;
  while (true) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return out;
}

bool H2Client::Input(std::string_view bytes) {
  return nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                  bytes.size()) >= 0;
}

bool H2Client::RunUntilDone(int fd, int32_t stream, int timeout_ms) {
  return RunUntil(fd, {stream}, timeout_ms);
}

bool H2Client::RunUntil(int fd, const std::vector<int32_t>& streams, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto all_done = [&] {
    for (int32_t s : streams) {
      if (!responses_[s].closed) return false;
    }
    return true;
  };
  std::string pending;
  while (!all_done()) {
    pending += Output();
    while (!pending.empty()) {
      ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) break;
      pending.erase(0, static_cast<size_t>(n));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{fd, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 50))) < 0) return false;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0) return all_done();
      if (n > 0 && !Input(std::string_view(buf, static_cast<size_t>(n)))) return false;
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    }
  }
  return true;
}

// ---- Raw frames ------------------------------------------------------------

std::string H2Frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string f;
  size_t n = payload.size();
  f += static_cast<char>((n >> 16) & 0xff);
  f += static_cast<char>((n >> 8) & 0xff);
  f += static_cast<char>(n & 0xff);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  for (int i = 3; i >= 0; --i) f += static_cast<char>((stream >> (8 * i)) & (i == 3 ? 0x7f : 0xff));
  f.append(payload);
  return f;
}

std::string H2ClientStart() {
  return std::string(kH2Preface) + H2Frame(NGHTTP2_SETTINGS, 0, 0, "");
}

std::string H2GetBlock() {
  // :method GET (2), :scheme http (6), :path / (4), :authority "a" (literal
  // never indexed, name index 1).
  return std::string(
      "\x82\x86\x84\x11\x01"
      "a",
      6);
}

std::string H2RstStream(uint32_t stream, uint32_t code) {
  std::string payload;
  for (int i = 3; i >= 0; --i) payload += static_cast<char>((code >> (8 * i)) & 0xff);
  return H2Frame(NGHTTP2_RST_STREAM, 0, stream, payload);
}

std::vector<H2RawFrame> H2ParseFrames(std::string_view bytes) {
  std::vector<H2RawFrame> frames;
  size_t at = 0;
  while (bytes.size() - at >= 9) {
    auto u8 = [&](size_t i) { return static_cast<uint8_t>(bytes[at + i]); };
    size_t length = (size_t{u8(0)} << 16) | (size_t{u8(1)} << 8) | u8(2);
    if (bytes.size() - at < 9 + length) break;
    H2RawFrame f;
    f.type = u8(3);
    f.flags = u8(4);
    f.stream =
        ((uint32_t{u8(5)} & 0x7f) << 24) | (uint32_t{u8(6)} << 16) | (uint32_t{u8(7)} << 8) | u8(8);
    f.payload = std::string(bytes.substr(at + 9, length));
    frames.push_back(std::move(f));
    at += 9 + length;
  }
  return frames;
}

int64_t H2GoawayCode(std::string_view bytes) {
  for (const H2RawFrame& f : H2ParseFrames(bytes)) {
    if (f.type == NGHTTP2_GOAWAY && f.payload.size() >= 8) {
      auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(f.payload[i])); };
      return (b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7);
    }
  }
  return -1;
}

}  // namespace nines::test
