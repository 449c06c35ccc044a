// Error texts by outcome and the forwarded-write request; see outcome.h.
#include "store/outcome.h"

#include <charconv>

#include "store/resp_writer.h"

namespace nines::store {

namespace {
bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}
}  // namespace

std::string TryAgainError(std::string_view why) {
  return "TRYAGAIN " + std::string(why);
}

std::string UnknownOutcomeError(std::string_view why) {
  return "UNKNOWN outcome unknown: " + std::string(why);
}

std::string TooLargeError(uint64_t entry_bytes, uint64_t limit) {
  return "ERR command too large: its log entry would be " + std::to_string(entry_bytes) +
         " bytes, more than the limit of " + std::to_string(limit);
}

std::string NoSpaceError(std::string_view why) {
  return "NOSPACE " + std::string(why);
}

bool IsRetryableRefusal(std::string_view error) {
  return error.rfind("TRYAGAIN ", 0) == 0 || error.rfind("NOSPACE ", 0) == 0;
}

bool IsUnknownOutcome(std::string_view error) {
  return error.rfind("UNKNOWN", 0) == 0;
}

int HttpStatusForError(std::string_view error) {
  if (IsUnknownOutcome(error)) return 504;
  if (error.rfind("NOSPACE ", 0) == 0) return 507;
  return error.rfind("ERR command too large", 0) == 0 ? 413 : 503;
}

bool IsForwarded(const std::vector<std::string_view>& args) {
  if (args.empty() || args[0].size() != kForwardCommand.size()) return false;
  for (size_t i = 0; i < kForwardCommand.size(); ++i) {
    char c = args[0][i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != kForwardCommand[i]) return false;
  }
  return true;
}

Status ParseForwarded(const std::vector<std::string_view>& args, RequestKey* key,
                      std::vector<std::string_view>* command) {
  if (args.size() < 4) {
    return Status::InvalidArgument("ERR wrong number of arguments for 'nines.fwd' command");
  }
  if (!ParseU64(args[1], &key->origin) || !ParseU64(args[2], &key->id) || key->origin == 0) {
    return Status::InvalidArgument(
        "ERR nines.fwd: origin and request id must be unsigned integers, origin not 0");
  }
  command->assign(args.begin() + 3, args.end());
  return Status::Ok();
}

void EncodeForwarded(const RequestKey* key, const std::vector<std::string>& args,
                     std::string* out) {
  resp::ReplyWriter w(out);
  w.ArrayHeader(args.size() + (key ? 3 : 0));
  if (key) {
    w.Bulk(kForwardCommand);
    w.Bulk(std::to_string(key->origin));
    w.Bulk(std::to_string(key->id));
  }
  for (const std::string& a : args) w.Bulk(a);
}

}  // namespace nines::store
