// libFuzzer target: request heads from untrusted bytes, then the chunked body that follows.
// Beyond memory safety it checks that a prefix of the input never disagrees with the whole
// (the parser is resumable) and that splitting a chunked body does not change where it ends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/parser.h"

namespace {

using nines::http::BodyKind;
using nines::http::ChunkedReader;
using nines::http::Limits;
using nines::http::ParseError;
using nines::http::ParseStatus;
using nines::http::RequestHead;

void Check(bool ok) {
  if (!ok) std::abort();
}

struct ChunkedOutcome {
  size_t consumed = 0;
  bool done = false;
  bool failed = false;
};

ChunkedOutcome FeedChunked(std::string_view body, size_t cut) {
  ChunkedReader reader;
  ParseError error;
  ChunkedOutcome out;
  for (std::string_view piece : {body.substr(0, cut), body.substr(cut)}) {
    if (out.done || out.failed) break;
    const size_t used = reader.Consume(piece, &out.done, &error);
    Check(used <= piece.size());
    out.consumed += used;
    if (!out.done && used < piece.size()) {
      out.failed = true;
      Check(used == 0 && error.status == 400 && error.reason[0] != '\0');
    }
  }
  return out;
}

void CheckRequest(std::string_view data, const Limits& limits, size_t cut) {
  RequestHead head;
  ParseError error;
  const ParseStatus status = nines::http::ParseRequestHead(data, limits, &head, &error);
  if (status == ParseStatus::kError) {
    Check(error.reason[0] != '\0');
    Check(error.status == 400 || error.status == 414 || error.status == 431 ||
          error.status == 501 || error.status == 505);
  }

  RequestHead prefix;
  ParseError prefix_error;
  const ParseStatus prefix_status =
      nines::http::ParseRequestHead(data.substr(0, cut), limits, &prefix, &prefix_error);
  if (prefix_status == ParseStatus::kNeedMore) {
    Check(status != ParseStatus::kDone || cut < head.head_size);
  } else {
    Check(prefix_status == status);
    if (status == ParseStatus::kError) Check(prefix_error.status == error.status);
    if (status == ParseStatus::kDone) {
      Check(prefix.head_size == head.head_size && prefix.headers.size() == head.headers.size());
    }
  }

  if (status != ParseStatus::kDone) return;
  Check(head.head_size > 0 && head.head_size <= data.size());
  Check(head.head_size <= limits.max_head_bytes);
  Check(head.headers.size() <= limits.max_headers);
  Check(!head.method.empty() && !head.target.empty());
  Check(head.target.size() <= limits.max_request_line);
  for (const auto& h : head.headers) {
    Check(!h.name.empty());
    Check(head.Find(h.name) != nullptr);
  }
  if (const auto* connection = head.Find("connection")) {
    Check(nines::http::IsHopByHop("Connection", connection->value));
  }
  if (head.body != BodyKind::kChunked) return;
  const std::string_view body = data.substr(head.head_size);
  const ChunkedOutcome whole = FeedChunked(body, body.size());
  const ChunkedOutcome split = FeedChunked(body, cut % (body.size() + 1));
  Check(whole.done == split.done && whole.failed == split.failed);
  if (whole.done) Check(whole.consumed == split.consumed && whole.consumed <= body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  // A cut point derived from the input, so the fuzzer can steer it.
  size_t cut = 0;
  for (size_t i = 0; i < size && i < 8; ++i) cut = cut * 131 + bytes[i];
  cut %= size + 1;
  CheckRequest(data, Limits(), cut);
  Limits small;
  small.max_request_line = 64;
  small.max_head_bytes = 256;
  small.max_headers = 8;
  CheckRequest(data, small, cut);
  return 0;
}
