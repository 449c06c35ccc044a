// The result of a call that can fail, as LevelDB's Status: ok, or a code and a
// message with context (which file, which key, which peer). Ok is cheap; errors
// carry text. Used across module borders in place of bool + std::string* or
// an error string where "" meant success.
#pragma once

#include <string>
#include <utility>

namespace nines {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kCorruption,
    kIoError,
    kNoSpace,
    kNotFound,
    kInvalidArgument,
    kFailedPrecondition,  // not now: the state does not allow it (not running, not root)
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Corruption(std::string message) { return {Code::kCorruption, std::move(message)}; }
  static Status IoError(std::string message) { return {Code::kIoError, std::move(message)}; }
  static Status NoSpace(std::string message) { return {Code::kNoSpace, std::move(message)}; }
  static Status NotFound(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status InvalidArgument(std::string message) {
    return {Code::kInvalidArgument, std::move(message)};
  }
  static Status FailedPrecondition(std::string message) {
    return {Code::kFailedPrecondition, std::move(message)};
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  const std::string& message() const { return message_; }
  // "corruption: wal-...log at offset 123: bad checksum", or "ok".
  std::string ToString() const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

inline std::string Status::ToString() const {
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kCorruption:
      return "corruption: " + message_;
    case Code::kIoError:
      return "I/O error: " + message_;
    case Code::kNoSpace:
      return "no space left on device: " + message_;
    case Code::kNotFound:
      return "not found: " + message_;
    case Code::kInvalidArgument:
      return "invalid argument: " + message_;
    case Code::kFailedPrecondition:
      return "failed precondition: " + message_;
  }
  return message_;
}

}  // namespace nines
