// Incremental RESP2 request parser: arrays of bulk strings (what clients send)
// and inline commands (what redis-cli and telnet send, e.g. "PING\r\n"), any
// number of commands per buffer (pipelining), bounded by Limits.
//
// Usage: keep the unconsumed input in one buffer and call Parse(buffer):
//   kCommand  args() holds the command; drop consumed() bytes, call again.
//   kNeedMore drop consumed() bytes (empty commands skipped so far), append
//             more input, call again; progress is kept, nothing is rescanned.
//   kError    error() holds "Protocol error: ..."; reply "-ERR " + error()
//             and close the connection (as Redis does).
// Multibulk arguments are views into the caller's buffer, inline ones into the
// parser: valid until the buffer changes or Parse is called again. After
// warm-up there are no allocations per command.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nines::store::resp {

struct Limits {
  size_t max_bulk_len = 16u << 20;       // one argument; larger: "invalid bulk length"
  size_t max_array_len = 1u << 20;       // arguments per command: "invalid multibulk length"
  size_t max_inline_len = 64u << 10;     // inline line: "too big inline request"
  size_t max_request_bytes = 64u << 20;  // one whole command: "too big request"
};

enum class ParseResult { kNeedMore, kCommand, kError };

class RequestParser {
 public:
  explicit RequestParser(Limits limits = {});

  ParseResult Parse(std::string_view input);

  size_t consumed() const { return consumed_; }
  const std::vector<std::string_view>& args() const { return args_; }
  const std::string& error() const { return error_; }
  const Limits& limits() const { return limits_; }
  // Forgets partial progress (for a new connection).
  void Reset();

 private:
  enum class Stage { kStart, kInline, kArrayHeader, kBulkHeader, kBulkData };

  ParseResult ParseMultibulk(std::string_view input);
  ParseResult ParseInline(std::string_view input);
  ParseResult Fail(const std::string& message);
  // Offset of the first '\r' in input from `from` (or npos).
  static size_t FindCr(std::string_view input, size_t from);

  Limits limits_;
  Stage stage_ = Stage::kStart;
  size_t command_start_ = 0;  // offset of the current command in input
  size_t pos_ = 0;            // parse position, relative to command_start_
  size_t scan_ = 0;           // where the search for the end of a line resumes
  int64_t array_len_ = 0;
  int64_t bulk_len_ = 0;
  std::vector<std::pair<size_t, size_t>>
      spans_;  // multibulk args: (offset, length) from command start
  std::vector<std::string_view> args_;
  std::string inline_arena_;
  std::vector<size_t> inline_ends_;
  size_t consumed_ = 0;
  std::string error_;
};

}  // namespace nines::store::resp
