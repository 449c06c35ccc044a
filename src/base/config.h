// Config files: TOML parsed into a small tree that remembers where every key
// and value came from, and a reader that checks keys and types and reports
// every problem as FILE:LINE:COL: message (the nginx -t / haproxy -c habit).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace nines {

struct SourcePos {
  int line = 0;
  int column = 0;
};

struct ConfigEntry;

struct ConfigValue {
  enum class Type { kString, kInteger, kFloat, kBool, kArray, kTable };
  Type type = Type::kTable;
  SourcePos pos;
  std::string string_value;
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  std::vector<ConfigValue> array;
  std::vector<ConfigEntry> table;  // in file order

  const ConfigEntry* Find(std::string_view key) const;
};

struct ConfigEntry {
  std::string key;
  SourcePos key_pos;
  ConfigValue value;
};

const char* ConfigTypeName(ConfigValue::Type type);

// Accumulates errors; each renders as "FILE:LINE:COL: message".
class ConfigErrors {
 public:
  void Add(const std::string& file, SourcePos pos, std::string message);
  bool empty() const { return lines_.empty(); }
  const std::vector<std::string>& lines() const { return lines_; }
  std::string ToString() const;  // all lines joined with '\n'
  // Ok when there are none, else InvalidArgument with ToString() as the message.
  Status ToStatus() const;

 private:
  std::vector<std::string> lines_;
};

// Parses TOML text. On a syntax error adds it to `errors` and returns nullopt.
std::optional<ConfigValue> ParseConfigText(std::string_view text, const std::string& file,
                                           ConfigErrors* errors);
// Reads and parses a file; a missing or unreadable file is an error at 0:0.
std::optional<ConfigValue> LoadConfigFile(const std::string& file, ConfigErrors* errors);

// A host:port pair. The host is an IPv4 literal (loopback in tests).
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
  bool operator==(const Endpoint&) const = default;
};
// Parses "A.B.C.D:PORT". An error is InvalidArgument with a message naming the text.
Status ParseEndpoint(std::string_view text, Endpoint* out);

// Parses a dotted IPv4 address (no leading zeros) into host byte order;
// `out` may be null to only validate.
bool ParseIpv4Address(std::string_view text, uint32_t* out);

// An IPv4 network "a.b.c.d/n" (a bare address is /32).
struct Ipv4Network {
  uint32_t address = 0;  // host byte order, host bits zero
  int prefix = 32;
  bool Contains(uint32_t ip) const;
};
bool ParseIpv4Network(std::string_view text, Ipv4Network* out);

// A rate "N/s", "N/min" or "N/h".
struct Rate {
  int64_t count = 0;
  int64_t window_seconds = 1;
  double PerSecond() const { return static_cast<double>(count) / window_seconds; }
  std::string ToString() const;
};
Status ParseRate(std::string_view text, Rate* out);

// Reads one table of a config: typed getters that record what was used,
// and Finish() that reports every key nobody asked for.
class TableReader {
 public:
  TableReader(const ConfigValue* table, std::string file, std::string path, ConfigErrors* errors);

  bool Has(std::string_view key) const;
  std::string String(std::string_view key, std::string_view fallback);
  std::optional<std::string> RequiredString(std::string_view key);
  int64_t Integer(std::string_view key, int64_t fallback, int64_t min, int64_t max);
  std::optional<int64_t> RequiredInteger(std::string_view key, int64_t min, int64_t max);
  double Float(std::string_view key, double fallback);
  bool Bool(std::string_view key, bool fallback);
  std::vector<std::string> Strings(std::string_view key);
  std::vector<double> Floats(std::string_view key);
  std::optional<Endpoint> EndpointValue(std::string_view key, bool required);
  std::optional<Rate> RateValue(std::string_view key);
  std::optional<TableReader> Table(std::string_view key);
  std::vector<TableReader> TableArray(std::string_view key);

  // An error placed at `key`'s value (or at the table if the key is absent).
  void ErrorAt(std::string_view key, std::string message);
  // An error placed at the table itself.
  void Error(std::string message);
  SourcePos PosOf(std::string_view key) const;
  // Reports keys that no getter asked for as "unknown key".
  void Finish();

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  ConfigErrors* errors() const { return errors_; }

 private:
  const ConfigEntry* Lookup(std::string_view key);
  const ConfigEntry* Typed(std::string_view key, ConfigValue::Type type);
  std::string Qualified(std::string_view key) const;

  const ConfigValue* table_;
  std::string file_;
  std::string path_;
  ConfigErrors* errors_;
  std::vector<std::string> used_;
};

}  // namespace nines
