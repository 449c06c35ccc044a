// CommandLine: the preamble the `nines` commands share (exit statuses,
// --log-level, the required --config, config errors as FILE:LINE:COL).
#include "base/command_line.h"

#include <gtest/gtest.h>

#include "base/log.h"

namespace nines {
namespace {

std::optional<int> Parse(CommandLine& line, std::vector<std::string> args) {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  std::optional<int> exit = line.Parse(args);
  testing::internal::GetCapturedStdout();
  testing::internal::GetCapturedStderr();
  return exit;
}

TEST(CommandLineTest, ConfigAndLogLevel) {
  CommandLine line("test", "a test command");
  line.RequireConfig("test.toml");
  EXPECT_EQ(Parse(line, {"--config", "x.toml", "--log-level", "warn"}), std::nullopt);
  EXPECT_EQ(line.config_file(), "x.toml");
  EXPECT_EQ(GetLogLevel(), LogLevel::kWarn);
  SetLogLevel(LogLevel::kInfo);
}

TEST(CommandLineTest, HelpExitsZeroAndBadUsageTwo) {
  {
    CommandLine line("test", "a test command");
    EXPECT_EQ(Parse(line, {"--help"}), kExitOk);
  }
  {
    CommandLine line("test", "a test command");
    line.RequireConfig("test.toml");
    EXPECT_EQ(Parse(line, {}), kExitUsage);  // --config missing
  }
  {
    CommandLine line("test", "a test command");
    EXPECT_EQ(Parse(line, {"--bogus"}), kExitUsage);
  }
  {
    CommandLine line("test", "a test command");
    testing::internal::CaptureStderr();
    EXPECT_EQ(line.Parse({"--log-level", "loud"}), kExitUsage);
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "nines test: bad --log-level 'loud'\n");
  }
}

TEST(CommandLineTest, ReadConfigPrintsEveryErrorWithItsPosition) {
  auto read = [](const std::string& file, ConfigErrors* errors) -> std::optional<int> {
    errors->Add(file, SourcePos{3, 7}, "'ttl' must be an integer");
    return std::nullopt;
  };
  testing::internal::CaptureStderr();
  EXPECT_EQ(CommandLine::ReadConfig("bad.toml", read), std::nullopt);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "bad.toml:3:7: 'ttl' must be an integer\n");
  EXPECT_EQ(CommandLine::ReadConfig(
                "ok.toml", [](const std::string&, ConfigErrors*) { return std::optional<int>(1); }),
            1);
}

}  // namespace
}  // namespace nines
