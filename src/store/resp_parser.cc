// RESP2 request parsing, following Redis's networking.c (processMultibulkBuffer,
// processInlineBuffer, sdssplitargs) and its error texts, but stricter: the
// CRLF after bulk data is checked.
#include "store/resp_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/check.h"
#include "base/coding.h"

namespace nines::store::resp {
namespace {

// Redis's string2ll: optional '-', no leading zeros, no '+', no spaces.
bool ParseLength(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  size_t i = 0;
  bool negative = false;
  if (text == "0") {
    *value = 0;
    return true;
  }
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  if (i >= text.size() || text[i] < '1' || text[i] > '9') return false;
  uint64_t v = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  }
  *value = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

// sdssplitargs: splits line into arguments with "double" (C escapes, \xHH)
// and 'single' quotes. Appends each argument to arena and its end offset to
// ends. False on unbalanced quotes. Like Redis, a NUL byte ends the line.
bool SplitArgs(std::string_view line, std::string* arena, std::vector<size_t>* ends) {
  size_t len = line.find('\0');
  if (len != std::string_view::npos) line = line.substr(0, len);
  size_t p = 0;
  const size_t n = line.size();
  while (true) {
    while (p < n && IsSpace(line[p])) ++p;
    if (p >= n) return true;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      if (in_double) {
        if (p >= n) return false;  // unterminated quotes
        if (line[p] == '\\' && p + 3 < n && line[p + 1] == 'x' && HexDigitValue(line[p + 2]) >= 0 &&
            HexDigitValue(line[p + 3]) >= 0) {
          arena->push_back(
              static_cast<char>(HexDigitValue(line[p + 2]) * 16 + HexDigitValue(line[p + 3])));
          p += 3;
        } else if (line[p] == '\\' && p + 1 < n) {
          ++p;
          char c;
          switch (line[p]) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              c = line[p];
              break;
          }
          arena->push_back(c);
        } else if (line[p] == '"') {
          // The closing quote must be followed by a space or nothing.
          if (p + 1 < n && !IsSpace(line[p + 1])) return false;
          done = true;
        } else {
          arena->push_back(line[p]);
        }
      } else if (in_single) {
        if (p >= n) return false;
        if (line[p] == '\\' && p + 1 < n && line[p + 1] == '\'') {
          ++p;
          arena->push_back('\'');
        } else if (line[p] == '\'') {
          if (p + 1 < n && !IsSpace(line[p + 1])) return false;
          done = true;
        } else {
          arena->push_back(line[p]);
        }
      } else {
        if (p >= n) {
          done = true;
          break;
        }
        switch (line[p]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            arena->push_back(line[p]);
            break;
        }
      }
      if (p < n) ++p;
    }
    ends->push_back(arena->size());
  }
}

}  // namespace

RequestParser::RequestParser(Limits limits) : limits_(limits) {}

void RequestParser::Reset() {
  stage_ = Stage::kStart;
  command_start_ = 0;
  pos_ = 0;
  scan_ = 0;
  spans_.clear();
  args_.clear();
  consumed_ = 0;
  error_.clear();
}

ParseResult RequestParser::Fail(const std::string& message) {
  error_ = "Protocol error: " + message;
  stage_ = Stage::kStart;
  return ParseResult::kError;
}

size_t RequestParser::FindCr(std::string_view input, size_t from) {
  if (from >= input.size()) return std::string_view::npos;
  const void* hit = std::memchr(input.data() + from, '\r', input.size() - from);
  if (hit == nullptr) return std::string_view::npos;
  return static_cast<size_t>(static_cast<const char*>(hit) - input.data());
}

ParseResult RequestParser::Parse(std::string_view input) {
  // The caller dropped what we reported consumed; offsets restart at 0.
  command_start_ = 0;
  consumed_ = 0;
  args_.clear();
  while (true) {
    std::string_view rest = input.substr(command_start_);
    if (stage_ == Stage::kStart) {
      if (rest.empty()) {
        consumed_ = command_start_;
        return ParseResult::kNeedMore;
      }
      pos_ = 0;
      scan_ = 0;
      stage_ = rest[0] == '*' ? Stage::kArrayHeader : Stage::kInline;
    }
    if (stage_ == Stage::kInline) {
      ParseResult result = ParseInline(rest);
      if (result == ParseResult::kCommand) stage_ = Stage::kStart;
      if (result == ParseResult::kCommand && args_.empty()) {
        command_start_ += consumed_;  // an empty line: skip it
        continue;
      }
      if (result == ParseResult::kCommand) consumed_ += command_start_;
      if (result == ParseResult::kNeedMore) consumed_ = command_start_;
      return result;
    }
    ParseResult result = ParseMultibulk(rest);
    if (result == ParseResult::kCommand && array_len_ <= 0) {
      command_start_ += consumed_;  // "*0" or "*-1": nothing to run, skip it
      stage_ = Stage::kStart;
      continue;
    }
    if (result == ParseResult::kCommand) consumed_ += command_start_;
    if (result == ParseResult::kNeedMore) consumed_ = command_start_;
    return result;
  }
}

ParseResult RequestParser::ParseInline(std::string_view input) {
  // Resume the search where the last call stopped: a line arriving a byte at
  // a time must not be rescanned from its start each time.
  const void* hit = std::memchr(input.data() + scan_, '\n', input.size() - scan_);
  if (hit == nullptr) {
    if (input.size() > limits_.max_inline_len) return Fail("too big inline request");
    scan_ = input.size();
    return ParseResult::kNeedMore;
  }
  size_t newline = static_cast<size_t>(static_cast<const char*>(hit) - input.data());
  if (newline > limits_.max_inline_len) return Fail("too big inline request");
  std::string_view line = input.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  inline_arena_.clear();
  inline_ends_.clear();
  if (!SplitArgs(line, &inline_arena_, &inline_ends_)) {
    return Fail("unbalanced quotes in request");
  }
  size_t begin = 0;
  for (size_t end : inline_ends_) {
    args_.emplace_back(inline_arena_.data() + begin, end - begin);
    begin = end;
  }
  consumed_ = newline + 1;
  return ParseResult::kCommand;
}

ParseResult RequestParser::ParseMultibulk(std::string_view input) {
  while (true) {
    switch (stage_) {
      case Stage::kStart:
      case Stage::kInline:
        NINES_CHECK(false, "the multibulk parser is never entered in the start or inline stage");
        return Fail("internal parser state");
      case Stage::kArrayHeader: {
        // The size checks do not depend on how the input was split into reads.
        size_t cr = FindCr(input, std::max(pos_, scan_));
        if (cr == std::string_view::npos) {
          if (input.size() > limits_.max_inline_len) return Fail("too big mbulk count string");
          scan_ = input.size();
          return ParseResult::kNeedMore;
        }
        if (cr > limits_.max_inline_len) return Fail("too big mbulk count string");
        if (cr + 1 >= input.size()) {
          scan_ = cr;
          return ParseResult::kNeedMore;
        }
        if (input[cr + 1] != '\n') return Fail("invalid multibulk length");
        int64_t n = 0;
        if (!ParseLength(input.substr(1, cr - 1), &n) ||
            n > static_cast<int64_t>(limits_.max_array_len)) {
          return Fail("invalid multibulk length");
        }
        array_len_ = n;
        pos_ = cr + 2;
        spans_.clear();
        if (n <= 0) {
          consumed_ = pos_;
          return ParseResult::kCommand;  // empty: Parse skips it
        }
        stage_ = Stage::kBulkHeader;
        break;
      }
      case Stage::kBulkHeader: {
        if (pos_ >= input.size()) return ParseResult::kNeedMore;
        if (input[pos_] != '$') {
          return Fail(std::string("expected '$', got '") + input[pos_] + "'");
        }
        size_t cr = FindCr(input, std::max(pos_, scan_));
        if (cr == std::string_view::npos) {
          if (input.size() - pos_ > limits_.max_inline_len) {
            return Fail("too big bulk count string");
          }
          scan_ = input.size();
          return ParseResult::kNeedMore;
        }
        if (cr - pos_ > limits_.max_inline_len) return Fail("too big bulk count string");
        if (cr + 1 >= input.size()) {
          scan_ = cr;
          return ParseResult::kNeedMore;
        }
        if (input[cr + 1] != '\n') return Fail("invalid bulk length");
        int64_t n = 0;
        if (!ParseLength(input.substr(pos_ + 1, cr - pos_ - 1), &n) || n < 0 ||
            n > static_cast<int64_t>(limits_.max_bulk_len)) {
          return Fail("invalid bulk length");
        }
        bulk_len_ = n;
        pos_ = cr + 2;
        if (pos_ + static_cast<size_t>(n) > limits_.max_request_bytes) {
          return Fail("too big request");
        }
        stage_ = Stage::kBulkData;
        break;
      }
      case Stage::kBulkData: {
        const auto len = static_cast<size_t>(bulk_len_);
        if (input.size() - pos_ < len + 2) return ParseResult::kNeedMore;
        if (input[pos_ + len] != '\r' || input[pos_ + len + 1] != '\n') {
          return Fail("expected CRLF after bulk data");
        }
        spans_.emplace_back(pos_, len);
        pos_ += len + 2;
        if (static_cast<int64_t>(spans_.size()) < array_len_) {
          stage_ = Stage::kBulkHeader;
          break;
        }
        for (const auto& [offset, length] : spans_)
          args_.emplace_back(input.data() + offset, length);
        consumed_ = pos_;
        stage_ = Stage::kStart;
        return ParseResult::kCommand;
      }
    }
  }
}

}  // namespace nines::store::resp
