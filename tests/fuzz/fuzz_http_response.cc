// libFuzzer target: response heads from untrusted bytes, for each kind of request method, then
// the chunked body. Checks memory safety and that a prefix never disagrees with the whole.
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
using nines::http::ResponseHead;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the request method and the cut point; the rest is the response.
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "CONNECT", "POST"};
  const std::string_view method = kMethods[bytes[0] % 4];
  const std::string_view data(reinterpret_cast<const char*>(bytes + 1), size - 1);
  const size_t cut = (static_cast<size_t>(bytes[0]) * 7919) % (data.size() + 1);
  Limits limits;
  if (bytes[0] & 0x80) {
    limits.max_request_line = 64;
    limits.max_head_bytes = 256;
    limits.max_headers = 8;
  }

  ResponseHead head;
  ParseError error;
  const ParseStatus status = nines::http::ParseResponseHead(data, limits, method, &head, &error);
  if (status == ParseStatus::kError) Check(error.status == 502 && error.reason[0] != '\0');

  ResponseHead prefix;
  ParseError prefix_error;
  const ParseStatus prefix_status =
      nines::http::ParseResponseHead(data.substr(0, cut), limits, method, &prefix, &prefix_error);
  if (prefix_status == ParseStatus::kNeedMore) {
    Check(status != ParseStatus::kDone || cut < head.head_size);
  } else {
    Check(prefix_status == status);
    if (status == ParseStatus::kDone) {
      Check(prefix.head_size == head.head_size && prefix.body == head.body &&
            prefix.status == head.status);
    }
  }
  if (status != ParseStatus::kDone) return 0;
  Check(head.status >= 100 && head.status <= 999);
  Check(head.head_size > 0 && head.head_size <= data.size() &&
        head.head_size <= limits.max_head_bytes);
  Check(head.headers.size() <= limits.max_headers);
  if (head.body == BodyKind::kUntilClose) Check(!head.keep_alive);
  if (method == "HEAD") Check(head.body == BodyKind::kNone);
  if (head.body != BodyKind::kChunked) return 0;

  ChunkedReader reader;
  bool done = false;
  const std::string_view body = data.substr(head.head_size);
  size_t consumed = 0;
  // Feed it one byte at a time: the slowest path through the state machine.
  for (size_t i = 0; i < body.size() && !done; ++i) {
    const size_t used = reader.Consume(body.substr(i, 1), &done, &error);
    if (used == 0 && !done) {
      Check(error.status == 400);
      return 0;
    }
    consumed += used;
  }
  ChunkedReader whole;
  bool whole_done = false;
  ParseError whole_error;
  const size_t whole_used = whole.Consume(body, &whole_done, &whole_error);
  Check(whole_done == done);
  if (done) Check(whole_used == consumed);
  Check(whole.data_bytes() == reader.data_bytes());
  return 0;
}
