// RESP2 reply encoding into a caller-owned output buffer: simple strings,
// errors, integers, bulk strings, null bulk, arrays and null arrays.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nines::store::resp {

class ReplyWriter {
 public:
  explicit ReplyWriter(std::string* out) : out_(out) {}

  // "+OK\r\n". CR and LF in text are replaced by spaces (they would end it).
  void SimpleString(std::string_view text);
  // "-ERR message\r\n": text is the whole error, code included ("ERR ...",
  // "WRONGTYPE ...", "NOAUTH ..."). CR and LF are replaced by spaces.
  void Error(std::string_view text);
  void Integer(int64_t value);
  void Bulk(std::string_view value);
  void NullBulk();                 // "$-1\r\n"
  void ArrayHeader(size_t count);  // "*N\r\n", then N elements
  void NullArray();                // "*-1\r\n"
  // Appends bytes that are already RESP.
  void Raw(std::string_view resp) { out_->append(resp); }

  std::string* buffer() { return out_; }

 private:
  void Line(char type, std::string_view text);
  void Number(char type, int64_t value);
  std::string* out_;
};

}  // namespace nines::store::resp
