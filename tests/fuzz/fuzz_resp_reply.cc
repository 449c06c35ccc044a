// libFuzzer target for the app's RESP2 reply parser: parses replies one after
// another from the input, checks each consumed length lies inside the input,
// that every proper prefix of a parsed reply asks for more, and that the limits
// (bulk size, array length, depth) hold in what comes out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "app/resp_reply.h"

namespace {

using nines::app::ParseRespReply;
using nines::app::RespParse;
using nines::app::RespReply;
using nines::app::RespReplyLimits;

int Depth(const RespReply& r) {
  int d = 0;
  for (const RespReply& e : r.elements) d = std::max(d, Depth(e));
  return r.type == RespReply::Type::kArray ? d + 1 : d;
}

void CheckLimits(const RespReply& r, const RespReplyLimits& limits) {
  if (r.type == RespReply::Type::kBulk && r.text.size() > limits.max_bulk_bytes) abort();
  if (r.elements.size() > limits.max_array_len) abort();
  for (const RespReply& e : r.elements) CheckLimits(e, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  RespReplyLimits limits;
  limits.max_bulk_bytes = 64;
  limits.max_array_len = 16;
  limits.max_depth = 3;
  limits.max_line_bytes = 32;
  for (int guard = 0; guard < 10000 && !input.empty(); ++guard) {
    RespReply reply;
    size_t consumed = 0;
    std::string error;
    RespParse r = ParseRespReply(input, limits, &reply, &consumed, &error);
    if (r == RespParse::kError) {
      if (error.empty()) abort();
      return 0;
    }
    if (r == RespParse::kNeedMore) return 0;
    if (consumed == 0 || consumed > input.size()) abort();
    if (Depth(reply) > limits.max_depth) abort();
    CheckLimits(reply, limits);
    // A strict prefix of one reply is never a complete reply (or an error).
    if (consumed > 1) {
      RespReply partial;
      size_t c2 = 0;
      std::string e2;
      if (ParseRespReply(input.substr(0, consumed - 1), limits, &partial, &c2, &e2) !=
          RespParse::kNeedMore) {
        abort();
      }
    }
    (void)reply.Describe();
    input.remove_prefix(consumed);
  }
  return 0;
}
