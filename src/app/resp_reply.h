// RESP2 reply parsing for the app's store client: simple strings, errors,
// integers, bulk strings (nil too) and arrays, bounded in size and depth.
// Pure (no I/O): the fuzz target feeds it arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nines::app {

struct RespReply {
  enum class Type { kSimple, kError, kInteger, kBulk, kNil, kArray };
  Type type = Type::kNil;
  std::string text;  // simple string, error text (without '-'), bulk contents
  int64_t integer = 0;
  std::vector<RespReply> elements;  // kArray

  bool IsError() const { return type == Type::kError; }
  bool IsNil() const { return type == Type::kNil; }
  // "OK", "-ERR ...", "(integer) 3", "\"bulk\"", "(nil)", "[...]": for logs and tests.
  std::string Describe() const;
};

struct RespReplyLimits {
  size_t max_bulk_bytes = 16u << 20;
  size_t max_array_len = 4096;
  int max_depth = 4;
  size_t max_line_bytes = 64u << 10;  // simple strings, errors, headers
};

enum class RespParse { kNeedMore, kReply, kError };

// Parses one reply at the start of `input`. kReply: *out holds it and
// *consumed its length. kNeedMore: the input holds a valid prefix only.
// kError: *error says why (the connection must be closed).
RespParse ParseRespReply(std::string_view input, const RespReplyLimits& limits, RespReply* out,
                         size_t* consumed, std::string* error);

// Encodes a command as a RESP2 array of bulk strings.
void AppendRespCommand(const std::vector<std::string>& args, std::string* out);

}  // namespace nines::app
