// ResponseReader: the head, then the body by its framing; errors name the
// part of the response that was wrong or missing.
#include "http/response_reader.h"

namespace nines::http {

std::string ClientResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

ResponseReader::ResponseReader(std::string_view method, size_t max_bytes, bool head_only)
    : method_(method), max_bytes_(max_bytes), head_only_(head_only) {}

ResponseReader::Progress ResponseReader::Fail(ClientResponse* out, std::string error) {
  out->error = std::move(error);
  phase_ = Phase::kDone;
  return Progress::kError;
}

const char* ResponseReader::phase() const {
  if (phase_ == Phase::kHead) return "no response";
  switch (kind_) {
    case BodyKind::kChunked:
      return "chunked body cut short";
    case BodyKind::kUntilClose:
      return "body until close";
    default:
      return "body cut short";
  }
}

ResponseReader::Progress ResponseReader::Consume(std::string* buffer, ClientResponse* out) {
  while (phase_ == Phase::kHead) {
    ResponseHead head;
    ParseError error;
    ParseStatus status = ParseResponseHead(*buffer, Limits(), method_, &head, &error);
    if (status == ParseStatus::kError) {
      return Fail(out, std::string("bad response head: ") + error.reason);
    }
    if (status == ParseStatus::kNeedMore) {
      if (buffer->size() > max_bytes_) return Fail(out, "response too large");
      return Progress::kNeedMore;
    }
    if (head.status < 200) {  // interim 1xx: skip
      buffer->erase(0, head.head_size);
      continue;
    }
    out->status = head.status;
    out->head = buffer->substr(0, head.head_size);
    out->headers.clear();
    for (const Header& h : head.headers) out->headers.emplace_back(h.name, h.value);
    out->closed = !head.keep_alive;
    kind_ = head.body;
    length_ = head.content_length;
    buffer->erase(0, head.head_size);  // `head`'s views are invalid from here on
    phase_ = Phase::kBody;
    if (head_only_) {
      phase_ = Phase::kDone;
      out->ok = true;
      return Progress::kDone;
    }
  }
  if (phase_ == Phase::kDone) return out->ok ? Progress::kDone : Progress::kError;
  return ConsumeBody(buffer, out);
}

ResponseReader::Progress ResponseReader::ConsumeBody(std::string* buffer, ClientResponse* out) {
  switch (kind_) {
    case BodyKind::kNone:
      break;
    case BodyKind::kContentLength:
      if (length_ > max_bytes_) return Fail(out, "response too large");
      if (buffer->size() < length_) return Progress::kNeedMore;
      out->body = buffer->substr(0, length_);
      buffer->erase(0, length_);
      break;
    case BodyKind::kChunked: {
      bool done = false;
      ParseError error;
      error.status = 0;
      size_t used = chunked_.Consume(*buffer, &done, &error, &out->body);
      if (error.status != 0) return Fail(out, std::string("bad chunked body: ") + error.reason);
      buffer->erase(0, used);
      if (done) break;
      if (out->body.size() > max_bytes_) return Fail(out, "response too large");
      return Progress::kNeedMore;
    }
    case BodyKind::kUntilClose:
      if (buffer->size() > max_bytes_) return Fail(out, "response too large");
      return Progress::kNeedMore;
  }
  phase_ = Phase::kDone;
  out->ok = true;
  return Progress::kDone;
}

ResponseReader::Progress ResponseReader::Closed(std::string* buffer, ClientResponse* out) {
  out->closed = true;
  if (phase_ == Phase::kBody && kind_ == BodyKind::kUntilClose) {
    out->body = std::move(*buffer);
    buffer->clear();
    phase_ = Phase::kDone;
    out->ok = true;
    return Progress::kDone;
  }
  if (phase_ == Phase::kDone) return out->ok ? Progress::kDone : Progress::kError;
  return Fail(out, std::string(phase()) + ": connection closed");
}

}  // namespace nines::http
