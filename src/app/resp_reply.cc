// RESP2 reply parser: a recursive descent over the buffered bytes. Each call
// parses from the start; replies the app reads are small (one order record,
// or an MGET of at most a few hundred), so rescanning on partial input is cheap.
#include "app/resp_reply.h"

#include <fmt/format.h>

namespace nines::app {
namespace {

struct Cursor {
  std::string_view in;
  size_t pos = 0;
  const RespReplyLimits& limits;
  std::string* error;
};

enum class Step { kOk, kNeedMore, kError };

Step Fail(Cursor& c, std::string message) {
  *c.error = std::move(message);
  return Step::kError;
}

// Reads a line ending in CRLF starting at c.pos; moves past it.
Step ReadLine(Cursor& c, std::string_view* line) {
  size_t cr = c.in.find('\r', c.pos);
  size_t limit = c.limits.max_line_bytes;
  if (cr == std::string_view::npos) {
    if (c.in.size() - c.pos > limit) return Fail(c, "reply line too long");
    return Step::kNeedMore;
  }
  if (cr - c.pos > limit) return Fail(c, "reply line too long");
  if (cr + 1 >= c.in.size()) return Step::kNeedMore;
  if (c.in[cr + 1] != '\n') return Fail(c, "CR without LF in reply");
  *line = c.in.substr(c.pos, cr - c.pos);
  c.pos = cr + 2;
  return Step::kOk;
}

bool ParseInteger(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  bool negative = text[0] == '-';
  size_t i = negative ? 1 : 0;
  if (i == text.size()) return false;
  uint64_t value = 0;
  for (; i < text.size(); ++i) {
    char ch = text[i];
    if (ch < '0' || ch > '9') return false;
    uint64_t digit = static_cast<uint64_t>(ch - '0');
    if (value > (static_cast<uint64_t>(INT64_MAX) - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
  return true;
}

Step ParseOne(Cursor& c, int depth, RespReply* out) {
  if (c.pos >= c.in.size()) return Step::kNeedMore;
  char type = c.in[c.pos++];
  std::string_view line;
  Step s = ReadLine(c, &line);
  if (s != Step::kOk) return s;
  switch (type) {
    case '+':
      out->type = RespReply::Type::kSimple;
      out->text.assign(line);
      return Step::kOk;
    case '-':
      out->type = RespReply::Type::kError;
      out->text.assign(line);
      return Step::kOk;
    case ':':
      out->type = RespReply::Type::kInteger;
      if (!ParseInteger(line, &out->integer)) return Fail(c, "bad integer in reply");
      return Step::kOk;
    case '$': {
      int64_t len = 0;
      if (!ParseInteger(line, &len) || len < -1) return Fail(c, "bad bulk length in reply");
      if (len == -1) {
        out->type = RespReply::Type::kNil;
        return Step::kOk;
      }
      if (static_cast<uint64_t>(len) > c.limits.max_bulk_bytes) {
        return Fail(c, "bulk reply too large");
      }
      size_t n = static_cast<size_t>(len);
      if (c.in.size() - c.pos < n + 2) return Step::kNeedMore;
      if (c.in[c.pos + n] != '\r' || c.in[c.pos + n + 1] != '\n') {
        return Fail(c, "bulk reply not terminated by CRLF");
      }
      out->type = RespReply::Type::kBulk;
      out->text.assign(c.in.substr(c.pos, n));
      c.pos += n + 2;
      return Step::kOk;
    }
    case '*': {
      int64_t len = 0;
      if (!ParseInteger(line, &len) || len < -1) return Fail(c, "bad array length in reply");
      if (len == -1) {
        out->type = RespReply::Type::kNil;
        return Step::kOk;
      }
      if (static_cast<uint64_t>(len) > c.limits.max_array_len) {
        return Fail(c, "array reply too long");
      }
      if (depth + 1 > c.limits.max_depth) return Fail(c, "array reply nested too deeply");
      out->type = RespReply::Type::kArray;
      out->elements.clear();
      out->elements.reserve(static_cast<size_t>(std::min<int64_t>(len, 64)));
      for (int64_t i = 0; i < len; ++i) {
        out->elements.emplace_back();
        Step e = ParseOne(c, depth + 1, &out->elements.back());
        if (e != Step::kOk) return e;
      }
      return Step::kOk;
    }
    default:
      return Fail(c, fmt::format("unexpected reply type byte 0x{:02x}",
                                 static_cast<unsigned>(static_cast<unsigned char>(type))));
  }
}

}  // namespace

RespParse ParseRespReply(std::string_view input, const RespReplyLimits& limits, RespReply* out,
                         size_t* consumed, std::string* error) {
  Cursor c{input, 0, limits, error};
  *out = RespReply();
  Step s = ParseOne(c, 0, out);
  if (s == Step::kNeedMore) return RespParse::kNeedMore;
  if (s == Step::kError) return RespParse::kError;
  *consumed = c.pos;
  return RespParse::kReply;
}

std::string RespReply::Describe() const {
  switch (type) {
    case Type::kSimple:
      return text;
    case Type::kError:
      return "-" + text;
    case Type::kInteger:
      return fmt::format("(integer) {}", integer);
    case Type::kBulk:
      return "\"" + text + "\"";
    case Type::kNil:
      return "(nil)";
    case Type::kArray: {
      std::string s = "[";
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i > 0) s += ", ";
        s += elements[i].Describe();
      }
      return s + "]";
    }
  }
  return "";
}

void AppendRespCommand(const std::vector<std::string>& args, std::string* out) {
  out->append(fmt::format("*{}\r\n", args.size()));
  for (const std::string& a : args) {
    out->append(fmt::format("${}\r\n", a.size()));
    out->append(a);
    out->append("\r\n");
  }
}

}  // namespace nines::app
