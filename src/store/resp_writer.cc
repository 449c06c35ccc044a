// RESP2 reply encoding; integers are formatted with to_chars (no allocation).
#include "store/resp_writer.h"

#include <charconv>
#include <cstring>

namespace nines::store::resp {

void ReplyWriter::Line(char type, std::string_view text) {
  out_->push_back(type);
  size_t start = out_->size();
  out_->append(text);
  for (size_t i = start; i < out_->size(); ++i) {
    if ((*out_)[i] == '\r' || (*out_)[i] == '\n') (*out_)[i] = ' ';
  }
  out_->append("\r\n", 2);
}

void ReplyWriter::Number(char type, int64_t value) {
  char buf[24];
  buf[0] = type;
  auto result = std::to_chars(buf + 1, buf + sizeof(buf) - 2, value);
  result.ptr[0] = '\r';
  result.ptr[1] = '\n';
  out_->append(buf, static_cast<size_t>(result.ptr + 2 - buf));
}

void ReplyWriter::SimpleString(std::string_view text) {
  Line('+', text);
}
void ReplyWriter::Error(std::string_view text) {
  Line('-', text);
}
void ReplyWriter::Integer(int64_t value) {
  Number(':', value);
}

void ReplyWriter::Bulk(std::string_view value) {
  // A short value (list elements, members, fields: LRANGE 0 99 writes 100)
  // goes out in one append instead of three.
  constexpr size_t kShort = 64;
  if (value.size() <= kShort) {
    char buf[24 + kShort + 2];
    buf[0] = '$';
    char* p = std::to_chars(buf + 1, buf + 22, value.size()).ptr;
    *p++ = '\r';
    *p++ = '\n';
    if (!value.empty()) std::memcpy(p, value.data(), value.size());  // data() may be null
    p += value.size();
    *p++ = '\r';
    *p++ = '\n';
    out_->append(buf, static_cast<size_t>(p - buf));
    return;
  }
  Number('$', static_cast<int64_t>(value.size()));
  out_->append(value);
  out_->append("\r\n", 2);
}

void ReplyWriter::NullBulk() {
  out_->append("$-1\r\n", 5);
}
void ReplyWriter::ArrayHeader(size_t count) {
  Number('*', static_cast<int64_t>(count));
}
void ReplyWriter::NullArray() {
  out_->append("*-1\r\n", 5);
}

}  // namespace nines::store::resp
