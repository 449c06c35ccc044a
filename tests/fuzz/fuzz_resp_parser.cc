// libFuzzer target for the RESP2 request parser: parses the input whole and
// again fed byte by byte, and checks both agree (same commands, same error)
// and that every argument lies inside the input or the parser's own arena.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "store/resp_parser.h"

namespace {

using nines::store::resp::Limits;
using nines::store::resp::ParseResult;
using nines::store::resp::RequestParser;

struct Run {
  std::vector<std::vector<std::string>> commands;
  std::string error;
};

Run Parse(const std::string& input, size_t chunk, const Limits& limits) {
  RequestParser parser(limits);
  Run run;
  std::string buffer;
  size_t fed = 0;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    ParseResult r = parser.Parse(buffer);
    if (parser.consumed() > buffer.size()) abort();
    if (r == ParseResult::kError) {
      if (parser.error().rfind("Protocol error: ", 0) != 0) abort();
      run.error = parser.error();
      return run;
    }
    if (r == ParseResult::kCommand) {
      if (parser.args().empty() || parser.consumed() == 0) abort();
      run.commands.emplace_back(parser.args().begin(), parser.args().end());
      buffer.erase(0, parser.consumed());
      continue;
    }
    buffer.erase(0, parser.consumed());
    if (fed >= input.size()) return run;
    size_t n = std::min(chunk, input.size() - fed);
    buffer.append(input, fed, n);
    fed += n;
  }
  abort();  // no progress
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;
  std::string input(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_bulk_len = 512;
  limits.max_array_len = 64;
  limits.max_inline_len = 256;
  limits.max_request_bytes = 2048;
  Run whole = Parse(input, input.size() + 1, limits);
  Run bytewise = Parse(input, 1, limits);
  if (whole.commands != bytewise.commands) abort();
  if (whole.error != bytewise.error) abort();
  return 0;
}
