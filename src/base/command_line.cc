// CLI11 setup, --log-level and usage errors shared by the `nines` commands.
#include "base/command_line.h"

#include "base/log.h"

namespace nines {

CommandLine::CommandLine(std::string_view name, std::string description)
    : title_("nines " + std::string(name)), cli_(std::move(description), title_) {
  cli_.add_option("--log-level", log_level_, "debug, info, warn or error");
}

void CommandLine::RequireConfig(std::string help) {
  cli_.add_option("-c,--config", config_file_, std::move(help))->required();
}

std::optional<int> CommandLine::Parse(const std::vector<std::string>& args) {
  // CLI11 takes a vector with the last argument first.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    cli_.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return cli_.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  LogLevel level;
  if (!ParseLogLevel(log_level_, &level)) {
    return UsageError("bad --log-level '" + log_level_ + "'");
  }
  SetLogLevel(level);
  return std::nullopt;
}

int CommandLine::UsageError(std::string_view message) const {
  std::fprintf(stderr, "%s: %.*s\n", title_.c_str(), static_cast<int>(message.size()),
               message.data());
  return kExitUsage;
}

}  // namespace nines
