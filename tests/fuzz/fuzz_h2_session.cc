// libFuzzer target: the HTTP/2 server session (src/http/h2_session.h) fed
// untrusted bytes after the client preface, in pieces the input chooses,
// with a handler that answers, streams bodies, resets and consumes as a
// real front end would. Beyond memory safety it checks that streams never
// outnumber the limit and that a closed session stays closed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/h2_session.h"

namespace {

using nines::http::H2Handler;
using nines::http::H2Limit;
using nines::http::H2Limits;
using nines::http::H2Request;
using nines::http::H2Session;

void Check(bool ok) {
  if (!ok) std::abort();
}

struct Handler : H2Handler {
  void OnRequest(int32_t stream, H2Request request) override {
    Check(!request.method.empty());
    switch ((stream + style) % 4) {
      case 0:
        session->SubmitResponse(stream, 200, {{"X-A", "b"}, {"Connection", "close"}}, true);
        session->SendBody(stream, std::string(static_cast<size_t>(stream % 70000), 'x'), true);
        break;
      case 1:
        session->SubmitLocalResponse(stream, 503);
        break;
      case 2:
        session->ResetStream(stream, 2);
        break;
      default:
        break;  // left open: answered later, or never
    }
  }
  void OnRequestData(int32_t stream, std::string_view data) override {
    if (style % 2 == 0) session->ConsumeBody(stream, data.size());
  }
  void OnRequestEnd(int32_t stream) override {
    if ((stream + style) % 4 == 3) session->SubmitResponse(stream, 204, {}, false);
  }
  void OnStreamClose(int32_t, uint32_t) override {}
  void OnResponseDrained(int32_t stream) override { session->SendBody(stream, "more", true); }
  void OnLimit(H2Limit) override {}

  H2Session* session = nullptr;
  int style = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  H2Limits limits;
  limits.max_concurrent_streams = 1 + data[0] % 8;
  limits.max_header_list_size = 1024 + (data[0] >> 3) * 512;
  limits.initial_window_size = 1024 + data[1] * 64;
  limits.max_resets = 1 + data[1] % 16;
  limits.reset_window_ms = 100;
  int64_t now = 0;
  Handler handler;
  handler.style = data[1] % 4;
  H2Session session(limits, &handler, [&now] { return now; });
  handler.session = &session;
  std::string out;
  bool alive =
      session.Receive(std::string_view("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0", 33));
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t piece = 1 + data[0] % 97;
  while (!in.empty() && alive) {
    size_t n = std::min(piece, in.size());
    alive = session.Receive(in.substr(0, n));
    in.remove_prefix(n);
    now += 7;
    Check(session.open_streams() <= limits.max_concurrent_streams + 1);
    out.clear();
    session.TakeOutput(&out, 4096);
  }
  for (int i = 0; i < 64 && session.HasOutput(); ++i) {
    out.clear();
    session.TakeOutput(&out, 1 << 20);
  }
  if (!alive) Check(!session.Receive(std::string_view("\0\0\0\4\0\0\0\0\0", 9)));
  return 0;
}
