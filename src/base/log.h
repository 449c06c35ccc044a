// Line-oriented logging to stderr: one line per event, with a UTC timestamp,
// a level and the component, the fields operators grep for.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace nines {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warn", "error"; false if unknown.
bool ParseLogLevel(std::string_view text, LogLevel* level);
// Writes one whole line atomically (a single write(2)).
void WriteLogLine(LogLevel level, std::string_view component, std::string_view message);

template <typename... Args>
void Log(LogLevel level, std::string_view component, fmt::format_string<Args...> format,
         Args&&... args) {
  if (level < GetLogLevel()) return;
  WriteLogLine(level, component, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void LogInfo(std::string_view component, fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kInfo, component, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogWarn(std::string_view component, fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kWarn, component, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogError(std::string_view component, fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kError, component, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogDebug(std::string_view component, fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kDebug, component, format, std::forward<Args>(args)...);
}

}  // namespace nines
