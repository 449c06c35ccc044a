// Strict HTTP/1.1 head parsing and chunked-body validation (RFC 9110/9112), see parser.h.
// The head parsers keep no state between calls: each call scans from the first byte, in one
// pass, stopping at max_head_bytes, so a call costs O(min(bytes received, max_head_bytes)).
//
// Choices where the RFC leaves room (each one covered by tests/http):
// - One CRLF before a request-line is ignored (RFC 9112 2.2 "at least one"); a second is 400.
//   Responses get no such tolerance.
// - Every decision depends only on the bytes before the point where it is made, so a prefix of
//   the input gets kNeedMore or the same answer as the whole (property-tested and fuzzed).
// - Request-line: single SPs, token method, target of bytes 0x21-0x7E and 0x80-0xFF, version
//   exactly "HTTP/" DIGIT "." DIGIT (else 400); only 1.0 and 1.1 accepted (else 505).
// - Host (RFC 9112 3.2): more than one is 400; none in HTTP/1.1 is 400.
// - Transfer-Encoding on a request: chunked must be final and appear once (else 400); any other
//   coding before it is 501 (a proxy that cannot decode should not guess). With Content-Length,
//   or in HTTP/1.0: 400. On a response, a final coding other than chunked means "until close".
// - Content-Length: 1*DIGIT, no overflow; identical repeats and lists ("5, 5") are merged.
// - Status line: "HTTP/1.1 200\r\n" (no SP before an empty reason) is tolerated.
// - Limits on responses use the same Limits (status line bounded by max_request_line); every
//   response error is 502.
#include "http/parser.h"

#include <array>
#include <cstring>
#include <limits>

#include "base/check.h"
#include "base/coding.h"

namespace nines::http {
namespace {

// Chunk-size line (size plus extensions) and trailer section bounds.
constexpr size_t kMaxChunkLine = 4096;
constexpr size_t kMaxTrailerBytes = 16384;

// tchar from RFC 9110 5.6.2.
constexpr std::array<bool, 256> MakeTokenTable() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kTokenTable = MakeTokenTable();

inline bool IsToken(char c) {
  return kTokenTable[static_cast<unsigned char>(c)];
}
inline bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
inline bool IsOws(char c) {
  return c == ' ' || c == '\t';
}
// field-vchar, SP and HTAB: everything but CTLs (other than HTAB) and DEL. obs-text is allowed.
inline bool IsFieldChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 ? u != 0x7F : u == '\t';
}
// Request-target bytes: no SP, no CTL, no DEL. Bytes >= 0x80 pass (seen in the wild, harmless
// to framing); the target is forwarded as is.
inline bool IsTargetChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7F;
}
inline char ToLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// EqualsIgnoreCase with the length compared first, inline: most header
// names differ from a given one in length, and these run for every header
// of every proxied message.
inline bool SameName(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (ToLower(name[i]) != lower[i]) return false;
  }
  return true;
}

// Advances over bytes accepted by `accept`, eight at a time while no byte in the word is below
// `kBelow` or equal to DEL (a word-at-a-time test; HTAB is the only byte below 0x20 some
// callers accept, and it falls back to the byte loop). Returns the first rejected byte or end.
template <unsigned kBelow, bool (*accept)(char)>
const char* SkipAccepted(const char* p, const char* end) {
  static_assert(kBelow <= 0x80);
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  for (;;) {
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      const uint64_t below = (word - kOnes * kBelow) & ~word & kHigh;
      const uint64_t del = word ^ (kOnes * 0x7F);
      const uint64_t is_del = (del - kOnes) & ~del & kHigh;
      if ((below | is_del) != 0) break;
      p += 8;
    }
    const char* block_end = (end - p >= 8) ? p + 8 : end;
    while (p < block_end && accept(*p)) ++p;
    if (p < block_end || p == end) return p;
  }
}

// Unrolled: header names are short, and four independent lookups per step beat one.
const char* SkipToken(const char* p, const char* end) {
  while (end - p >= 4 && IsToken(p[0]) && IsToken(p[1]) && IsToken(p[2]) && IsToken(p[3])) p += 4;
  while (p < end && IsToken(*p)) ++p;
  return p;
}

ParseStatus Fail(ParseError* error, int status, const char* reason) {
  error->status = status;
  error->reason = reason;
  return ParseStatus::kError;
}

// "HTTP/" DIGIT "." DIGIT. kNeedMore if the bytes end before it is decided.
ParseStatus MatchVersion(const char* p, const char* end, int* major, int* minor) {
  static constexpr char kPattern[] = "HTTP/#.#";
  for (int i = 0; i < 8; ++i) {
    if (p + i == end) return ParseStatus::kNeedMore;
    const bool ok = kPattern[i] == '#' ? IsDigit(p[i]) : p[i] == kPattern[i];
    if (!ok) return ParseStatus::kError;
  }
  *major = p[5] - '0';
  *minor = p[7] - '0';
  return ParseStatus::kDone;
}

// What the framing-relevant header fields said, gathered while parsing them.
struct Framing {
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool has_transfer_encoding = false;
  bool chunked_last = false;  // the final transfer coding so far is `chunked`
  bool chunked_seen = false;
  bool chunked_twice = false;  // chunked applied more than once (never valid)
  bool other_coding = false;   // some coding other than chunked
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool expect_continue = false;
  int host_count = 0;
};

// Content-Length = 1*DIGIT, also accepted as a list of identical values ("5, 5").
const char* NoteContentLength(std::string_view v, Framing* f) {
  size_t i = 0;
  for (;;) {
    if (i == v.size() || !IsDigit(v[i])) return "invalid Content-Length";
    uint64_t n = 0;
    for (; i < v.size() && IsDigit(v[i]); ++i) {
      const unsigned digit = static_cast<unsigned>(v[i] - '0');
      if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
        return "Content-Length overflows";
      }
      n = n * 10 + digit;
    }
    if (f->has_content_length && f->content_length != n) return "conflicting Content-Length";
    f->has_content_length = true;
    f->content_length = n;
    while (i < v.size() && IsOws(v[i])) ++i;
    if (i == v.size()) return nullptr;
    if (v[i] != ',') return "invalid Content-Length";
    ++i;
    while (i < v.size() && IsOws(v[i])) ++i;
  }
}

// quoted-string from RFC 9110 5.6.4, starting at the opening quote. Returns the index after the
// closing quote, or npos.
size_t SkipQuotedString(std::string_view v, size_t i) {
  NINES_CHECK(v[i] == '"', "a quoted string starts at its opening quote");
  for (++i; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (++i == v.size() || !IsFieldChar(v[i])) return std::string_view::npos;
    } else if (!IsFieldChar(c)) {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

// Transfer-Encoding = #transfer-coding; transfer-coding = token *( OWS ";" OWS token BWS "="
// BWS ( token / quoted-string ) ). Several header lines form one list, in order.
const char* NoteTransferEncoding(std::string_view v, Framing* f) {
  constexpr const char* kInvalid = "invalid Transfer-Encoding";
  f->has_transfer_encoding = true;
  bool any = false;
  size_t i = 0;
  auto skip_ows = [&] {
    while (i < v.size() && IsOws(v[i])) ++i;
  };
  for (;;) {
    skip_ows();
    if (i == v.size()) break;
    if (v[i] == ',') {  // empty list element
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < v.size() && IsToken(v[i])) ++i;
    if (i == start) return kInvalid;
    const bool chunked = EqualsIgnoreCase(v.substr(start, i - start), "chunked");
    for (;;) {
      skip_ows();
      if (i == v.size() || v[i] != ';') break;
      ++i;
      skip_ows();
      const size_t name = i;
      while (i < v.size() && IsToken(v[i])) ++i;
      if (i == name) return kInvalid;
      skip_ows();
      if (i == v.size() || v[i] != '=') return kInvalid;
      ++i;
      skip_ows();
      if (i < v.size() && v[i] == '"') {
        i = SkipQuotedString(v, i);
        if (i == std::string_view::npos) return kInvalid;
      } else {
        const size_t value = i;
        while (i < v.size() && IsToken(v[i])) ++i;
        if (i == value) return kInvalid;
      }
      if (chunked) return "chunked with parameters";
    }
    if (i < v.size() && v[i] != ',') return kInvalid;
    if (chunked && f->chunked_seen) f->chunked_twice = true;
    f->chunked_seen |= chunked;
    f->chunked_last = chunked;
    f->other_coding |= !chunked;
    any = true;
  }
  return any ? nullptr : kInvalid;
}

// Connection = #connection-option; only `close` and `keep-alive` matter here.
void NoteConnection(std::string_view v, Framing* f) {
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (IsOws(v[i]) || v[i] == ',')) ++i;
    const size_t start = i;
    while (i < v.size() && v[i] != ',' && !IsOws(v[i])) ++i;
    const std::string_view option = v.substr(start, i - start);
    if (EqualsIgnoreCase(option, "close")) f->connection_close = true;
    if (EqualsIgnoreCase(option, "keep-alive")) f->connection_keep_alive = true;
  }
}

// Records the header fields that decide framing and connection handling. Returns an error reason
// or null. Dispatches on the name length first: most fields are none of these.
const char* NoteField(std::string_view name, std::string_view value, Framing* f) {
  switch (name.size()) {
    case 4:
      if (EqualsIgnoreCase(name, "host")) ++f->host_count;
      break;
    case 6:
      if (EqualsIgnoreCase(name, "expect") && EqualsIgnoreCase(value, "100-continue")) {
        f->expect_continue = true;
      }
      break;
    case 10:
      if (EqualsIgnoreCase(name, "connection")) NoteConnection(value, f);
      break;
    case 14:
      if (EqualsIgnoreCase(name, "content-length")) return NoteContentLength(value, f);
      break;
    case 17:
      if (EqualsIgnoreCase(name, "transfer-encoding")) return NoteTransferEncoding(value, f);
      break;
    default:
      break;
  }
  return nullptr;
}

// Where a head parse ran out of bytes: more may come, unless the bytes were cut at the limit.
struct HeadWindow {
  const char* end;  // data end, or data + max_head_bytes if the data is longer
  bool truncated;   // the data goes on beyond `end`: running out here means "too large"
  int too_large_status;
  const char* too_large_reason;

  ParseStatus RanOut(ParseError* error) const {
    return truncated ? Fail(error, too_large_status, too_large_reason) : ParseStatus::kNeedMore;
  }
};

// Header field lines from `p` up to and including the empty line that ends the head:
//   *( field-name ":" OWS field-value OWS CRLF ) CRLF
// On kDone, *head_end points after that empty line.
ParseStatus ParseFields(const char* p, const HeadWindow& window, const Limits& limits,
                        int bad_status, std::vector<Header>* headers, Framing* framing,
                        const char** head_end, ParseError* error) {
  const char* const end = window.end;
  for (;;) {
    if (p == end) return window.RanOut(error);
    if (*p == '\r') {
      if (p + 1 == end) return window.RanOut(error);
      if (p[1] != '\n') return Fail(error, bad_status, "CR without LF in head");
      *head_end = p + 2;
      return ParseStatus::kDone;
    }
    if (IsOws(*p)) return Fail(error, bad_status, "obsolete line folding");
    const char* name = p;
    p = SkipToken(p, end);
    if (p == end) return window.RanOut(error);
    if (*p != ':') {
      if (*p == '\n') return Fail(error, bad_status, "LF without CR in head");
      return Fail(error, bad_status, "invalid character in header name");
    }
    if (p == name) return Fail(error, bad_status, "empty header name");
    if (headers->size() >= limits.max_headers) {
      return Fail(error, window.too_large_status, "too many header fields");
    }
    const std::string_view field_name(name, static_cast<size_t>(p - name));
    ++p;
    while (p < end && IsOws(*p)) ++p;
    const char* value = p;
    p = SkipAccepted<0x20, IsFieldChar>(p, end);
    if (p == end) return window.RanOut(error);
    if (*p != '\r') {
      if (*p == '\n') return Fail(error, bad_status, "LF without CR in head");
      return Fail(error, bad_status, "invalid character in header value");
    }
    if (p + 1 == end) return window.RanOut(error);
    if (p[1] != '\n') return Fail(error, bad_status, "CR without LF in head");
    const char* value_end = p;
    while (value_end > value && IsOws(value_end[-1])) --value_end;
    const std::string_view field_value(value, static_cast<size_t>(value_end - value));
    headers->push_back(Header{field_name, field_value});
    if (const char* why = NoteField(field_name, field_value, framing)) {
      return Fail(error, bad_status, why);
    }
    p += 2;
  }
}

bool KeepAlive(int version_minor, const Framing& f) {
  if (f.connection_close) return false;
  return version_minor >= 1 || f.connection_keep_alive;
}

const Header* FindHeader(const std::vector<Header>& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (h.name.size() == name.size() && EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

HeadWindow MakeWindow(std::string_view data, const Limits& limits, int too_large_status,
                      const char* too_large_reason) {
  const bool truncated = data.size() > limits.max_head_bytes;
  const size_t size = truncated ? limits.max_head_bytes : data.size();
  return HeadWindow{data.data() + size, truncated, too_large_status, too_large_reason};
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

bool IsFramingOrRouting(std::string_view name) {
  return SameName(name, "content-length") || SameName(name, "host");
}

bool IsHopByHop(std::string_view name, std::string_view connection_tokens) {
  static constexpr std::string_view kHopByHop[] = {
      "connection",        "keep-alive",        "proxy-connection", "te",
      "trailer",           "transfer-encoding", "upgrade",          "proxy-authorization",
      "proxy-authenticate"};
  for (std::string_view h : kHopByHop) {
    if (SameName(name, h)) return true;
  }
  if (connection_tokens.empty()) return false;  // the usual case
  // The message was framed and routed by these: a Connection token naming
  // them is ignored, or the body would reach the next hop as a second
  // (smuggled) message and the Host would be replaced. HAProxy 2.6 and
  // nginx 1.22 forward them too.
  if (IsFramingOrRouting(name)) return false;
  size_t i = 0;
  const std::string_view v = connection_tokens;
  while (i < v.size()) {
    while (i < v.size() && (IsOws(v[i]) || v[i] == ',')) ++i;
    const size_t start = i;
    while (i < v.size() && v[i] != ',' && !IsOws(v[i])) ++i;
    if (i > start && i - start == name.size() &&
        EqualsIgnoreCase(name, v.substr(start, i - start))) {
      return true;
    }
  }
  return false;
}

const Header* RequestHead::Find(std::string_view name) const {
  return FindHeader(headers, name);
}
const Header* ResponseHead::Find(std::string_view name) const {
  return FindHeader(headers, name);
}

ParseStatus ParseRequestHead(std::string_view data, const Limits& limits, RequestHead* head,
                             ParseError* error) {
  head->method = {};
  head->target = {};
  head->version_minor = 1;
  head->headers.clear();
  head->body = BodyKind::kNone;
  head->content_length = 0;
  head->keep_alive = true;
  head->expect_continue = false;
  head->head_size = 0;

  const HeadWindow window = MakeWindow(data, limits, 431, "request header fields too large");
  const char* const begin = data.data();
  const char* const end = window.end;
  const char* p = begin;

  // RFC 9112 2.2: a server SHOULD ignore at least one empty line received before the
  // request-line. We ignore exactly one CRLF (left over after a body by some clients).
  if (p < end && *p == '\r') {
    if (end - p < 2) return window.RanOut(error);
    if (p[1] != '\n') return Fail(error, 400, "CR without LF in head");
    p += 2;
  }

  // request-line = method SP request-target SP HTTP-version CRLF, at most max_request_line
  // bytes before the CRLF. Scanning stops at that bound, so a long line is refused before it
  // ends. Every decision depends only on the bytes before it, so a prefix of the input never
  // gets an answer different from the whole input's (only kNeedMore).
  const char* const line = p;
  const char* const content_end = static_cast<size_t>(end - line) > limits.max_request_line
                                      ? line + limits.max_request_line
                                      : end;
  // Out of room for the line: at the bound with more bytes there, the line is too long.
  auto line_ran_out = [&]() {
    return content_end < end ? Fail(error, 414, "request line too long") : window.RanOut(error);
  };

  p = SkipToken(p, content_end);
  if (p == content_end) return line_ran_out();
  if (*p != ' ' || p == line) return Fail(error, 400, "invalid method");
  head->method = std::string_view(line, static_cast<size_t>(p - line));
  const char* target = ++p;
  p = SkipAccepted<0x21, IsTargetChar>(p, content_end);
  if (p == content_end) return line_ran_out();
  if (*p != ' ' || p == target) return Fail(error, 400, "invalid request target");
  head->target = std::string_view(target, static_cast<size_t>(p - target));
  ++p;
  int major = 0;
  int minor = 0;
  switch (MatchVersion(p, content_end, &major, &minor)) {
    case ParseStatus::kNeedMore:
      return line_ran_out();
    case ParseStatus::kError:
      return Fail(error, 400, "invalid HTTP version");
    case ParseStatus::kDone:
      break;
  }
  p += 8;
  NINES_CHECK(p <= content_end, "the status line parse stays inside the head");
  if (p == end) return window.RanOut(error);
  if (*p != '\r') {
    if (*p == '\n') return Fail(error, 400, "LF without CR in head");
    return Fail(error, 400, "invalid HTTP version");
  }
  if (p + 1 == end) return window.RanOut(error);
  if (p[1] != '\n') return Fail(error, 400, "CR without LF in head");
  p += 2;
  if (major != 1 || minor > 1) return Fail(error, 505, "HTTP version not supported");
  head->version_minor = minor;

  Framing framing;
  const char* head_end = nullptr;
  const ParseStatus status =
      ParseFields(p, window, limits, 400, &head->headers, &framing, &head_end, error);
  if (status != ParseStatus::kDone) return status;

  // RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
  if (framing.host_count > 1) return Fail(error, 400, "more than one Host");
  if (framing.host_count == 0 && minor == 1) return Fail(error, 400, "missing Host");

  // RFC 9112 6.1-6.3: refuse every ambiguous framing instead of picking one.
  if (framing.has_transfer_encoding) {
    if (minor == 0) return Fail(error, 400, "Transfer-Encoding in HTTP/1.0");
    if (framing.has_content_length) {
      return Fail(error, 400, "both Transfer-Encoding and Content-Length");
    }
    if (!framing.chunked_last || framing.chunked_twice) {
      return Fail(error, 400, "chunked is not the final transfer coding");
    }
    if (framing.other_coding) return Fail(error, 501, "unsupported transfer coding");
    head->body = BodyKind::kChunked;
  } else if (framing.has_content_length) {
    head->body = BodyKind::kContentLength;
    head->content_length = framing.content_length;
  }
  head->keep_alive = KeepAlive(minor, framing);
  head->expect_continue = framing.expect_continue && minor == 1;
  head->head_size = static_cast<size_t>(head_end - begin);
  NINES_CHECK(head->head_size <= limits.max_head_bytes && head->head_size <= data.size(),
              "the head fits its limit and the data");
  return ParseStatus::kDone;
}

ParseStatus ParseResponseHead(std::string_view data, const Limits& limits,
                              std::string_view request_method, ResponseHead* head,
                              ParseError* error) {
  head->version_minor = 1;
  head->status = 0;
  head->reason = {};
  head->headers.clear();
  head->body = BodyKind::kNone;
  head->content_length = 0;
  head->keep_alive = true;
  head->head_size = 0;

  const HeadWindow window = MakeWindow(data, limits, 502, "response head too large");
  const char* const begin = data.data();
  const char* const end = window.end;

  // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF, bounded like the
  // request line. A missing SP before an empty reason is tolerated (common, and harmless).
  const char* const line = begin;
  const char* const content_end = static_cast<size_t>(end - line) > limits.max_request_line
                                      ? line + limits.max_request_line
                                      : end;
  auto line_ran_out = [&]() {
    return content_end < end ? Fail(error, 502, "status line too long") : window.RanOut(error);
  };

  const char* p = line;
  int major = 0;
  int minor = 0;
  switch (MatchVersion(p, content_end, &major, &minor)) {
    case ParseStatus::kNeedMore:
      return line_ran_out();
    case ParseStatus::kError:
      return Fail(error, 502, "invalid HTTP version in response");
    case ParseStatus::kDone:
      break;
  }
  p += 8;
  int status = 0;
  for (int i = 0; i < 4; ++i, ++p) {
    if (p == content_end) return line_ran_out();
    const bool ok = i == 0 ? *p == ' ' : (IsDigit(*p) && (i != 1 || *p != '0'));
    if (!ok) return Fail(error, 502, "invalid status code");
    if (i > 0) status = status * 10 + (*p - '0');
  }
  if (p == end) return window.RanOut(error);
  const char* reason = p;
  if (*p == ' ' && p < content_end) {
    reason = ++p;
    p = SkipAccepted<0x20, IsFieldChar>(p, content_end);
    if (p == end) return window.RanOut(error);
  }
  if (*p != '\r') {
    if (p == content_end) return Fail(error, 502, "status line too long");
    if (*p == '\n') return Fail(error, 502, "LF without CR in response head");
    return Fail(error, 502, "invalid status line");
  }
  if (p + 1 == end) return window.RanOut(error);
  if (p[1] != '\n') return Fail(error, 502, "CR without LF in response head");
  if (major != 1 || minor > 1) return Fail(error, 502, "unsupported HTTP version in response");
  head->version_minor = minor;
  head->status = status;
  head->reason = std::string_view(reason, static_cast<size_t>(p - reason));
  p += 2;

  Framing framing;
  const char* head_end = nullptr;
  const ParseStatus parsed =
      ParseFields(p, window, limits, 502, &head->headers, &framing, &head_end, error);
  if (parsed != ParseStatus::kDone) return parsed;

  if (framing.has_transfer_encoding) {
    if (minor == 0) return Fail(error, 502, "Transfer-Encoding in HTTP/1.0 response");
    if (framing.has_content_length) {
      return Fail(error, 502, "both Transfer-Encoding and Content-Length in response");
    }
    if (framing.chunked_twice) return Fail(error, 502, "chunked applied twice in response");
  }
  head->keep_alive = KeepAlive(minor, framing);
  // RFC 9112 6.3: no body after HEAD, 1xx, 204, 304, or a 2xx to CONNECT (a tunnel follows).
  // Methods are case-sensitive: a server answers "head" as an unknown method, with a body.
  const bool no_body = request_method == "HEAD" || status < 200 || status == 204 || status == 304 ||
                       (status < 300 && request_method == "CONNECT");
  if (no_body) {
    head->body = BodyKind::kNone;
  } else if (framing.has_transfer_encoding) {
    // A final coding other than chunked: the body ends when the server closes.
    head->body = framing.chunked_last ? BodyKind::kChunked : BodyKind::kUntilClose;
  } else if (framing.has_content_length) {
    head->body = BodyKind::kContentLength;
    head->content_length = framing.content_length;
  } else {
    head->body = BodyKind::kUntilClose;
  }
  if (head->body == BodyKind::kUntilClose) head->keep_alive = false;
  head->head_size = static_cast<size_t>(head_end - begin);
  NINES_CHECK(head->head_size <= limits.max_head_bytes && head->head_size <= data.size(),
              "the head fits its limit and the data");
  return ParseStatus::kDone;
}

void ChunkedReader::Reset() {
  *this = ChunkedReader();
}

// chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk = 1*("0") [ chunk-ext ] CRLF
// Chunk sizes are at most 16 hex digits (no overflow), no whitespace; extensions are bytes
// without CTLs (HTAB allowed) up to the CRLF, the line bounded by kMaxChunkLine. Trailer lines
// are `token ":" field-chars CRLF`, kMaxTrailerBytes in total.
size_t ChunkedReader::Consume(std::string_view in, bool* done, ParseError* error,
                              std::string* data) {
  *done = false;
  auto fail = [&](const char* reason) -> size_t {
    state_ = State::kError;
    error_reason_ = reason;
    error->status = 400;
    error->reason = reason;
    return 0;
  };
  if (state_ == State::kError) return fail(error_reason_);
  if (state_ == State::kDone) {
    *done = true;
    return 0;
  }
  const char* const begin = in.data();
  const char* const end = begin + in.size();
  const char* p = begin;
  while (p < end) {
    const char c = *p;
    switch (state_) {
      case State::kSize: {
        const int digit = HexDigitValue(c);
        if (digit >= 0) {
          if (size_digits_ == 16) return fail("chunk size too long");
          chunk_remaining_ = chunk_remaining_ * 16 + static_cast<uint64_t>(digit);
          ++size_digits_;
          ++line_bytes_;
        } else if (size_digits_ > 0 && c == ';') {
          state_ = State::kExtension;
          ++line_bytes_;
        } else if (size_digits_ > 0 && c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return fail("invalid chunk size");
        }
        ++p;
        break;
      }
      case State::kExtension:
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (!IsFieldChar(c)) {
          return fail("invalid chunk extension");
        } else if (++line_bytes_ > kMaxChunkLine) {
          return fail("chunk extension too long");
        }
        ++p;
        break;
      case State::kSizeLf:
        if (c != '\n') return fail("chunk size line without CRLF");
        last_chunk_ = chunk_remaining_ == 0;
        state_ = last_chunk_ ? State::kTrailerStart : State::kData;
        size_digits_ = 0;
        line_bytes_ = 0;
        ++p;
        break;
      case State::kData: {
        const uint64_t available = static_cast<uint64_t>(end - p);
        const uint64_t take = available < chunk_remaining_ ? available : chunk_remaining_;
        chunk_remaining_ -= take;
        data_bytes_ += take;
        if (data != nullptr) data->append(p, static_cast<size_t>(take));
        p += take;
        if (chunk_remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return fail("chunk data not followed by CRLF");
        state_ = State::kDataLf;
        ++p;
        break;
      case State::kDataLf:
        if (c != '\n') return fail("chunk data not followed by CRLF");
        state_ = State::kSize;
        ++p;
        break;
      case State::kTrailerStart:
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (IsToken(c)) {
          state_ = State::kTrailerLine;
          trailer_in_value_ = false;
        } else {
          return fail("invalid trailer field");
        }
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail("trailer section too large");
        ++p;
        break;
      case State::kTrailerLine:
        if (c == '\r') {
          if (!trailer_in_value_) return fail("invalid trailer field");
          state_ = State::kTrailerLf;
        } else if (trailer_in_value_) {
          if (!IsFieldChar(c)) return fail("invalid trailer field");
        } else if (c == ':') {
          trailer_in_value_ = true;
        } else if (!IsToken(c)) {
          return fail("invalid trailer field");
        }
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail("trailer section too large");
        ++p;
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail("trailer field without CRLF");
        state_ = State::kTrailerStart;
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail("trailer section too large");
        ++p;
        break;
      case State::kFinalLf:
        if (c != '\n') return fail("chunked body without final CRLF");
        state_ = State::kDone;
        *done = true;
        return static_cast<size_t>(p + 1 - begin);
      case State::kDone:
      case State::kError:
        NINES_CHECK(false, "unreachable: done and error states are handled before the loop");
        return fail("internal error");
    }
  }
  return in.size();
}

}  // namespace nines::http
