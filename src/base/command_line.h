// The preamble every `nines NAME` command shares: a CLI11 parser titled
// "nines NAME" with --log-level (and -c/--config when the command reads one),
// exit status 2 for bad usage, and a config reader that prints each error as
// FILE:LINE:COL: message. Exit statuses are those of base/command.h.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"

namespace nines {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // runtime failure (cannot bind, cannot start)
inline constexpr int kExitUsage = 2;    // bad usage or config

class CommandLine {
 public:
  // `name` is the command's word ("lb"); `description` heads its --help.
  CommandLine(std::string_view name, std::string description);

  // For the command's own options and flags.
  CLI::App& cli() { return cli_; }
  // Adds the required -c,--config FILE; `help` names the file and an example.
  void RequireConfig(std::string help);
  const std::string& config_file() const { return config_file_; }

  // Parses the words after the command's name and applies --log-level.
  // Returns the status to exit with now (0 after --help, 2 with the message
  // printed on bad usage), or nullopt to go on.
  std::optional<int> Parse(const std::vector<std::string>& args);

  // Prints "nines NAME: message" to stderr; returns kExitUsage.
  int UsageError(std::string_view message) const;

  // Reads `file` with `read(file, &errors)`; on failure prints the errors,
  // one "FILE:LINE:COL: message" a line, and returns nullopt (exit kExitUsage).
  template <class Read>
  static auto ReadConfig(const std::string& file, Read read) {
    ConfigErrors errors;
    auto config = read(file, &errors);
    if (!config) std::fprintf(stderr, "%s\n", errors.ToString().c_str());
    return config;
  }

 private:
  std::string title_;  // "nines NAME"
  CLI::App cli_;
  std::string config_file_;
  std::string log_level_ = "info";
};

}  // namespace nines
