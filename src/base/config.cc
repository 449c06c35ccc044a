// TOML loading with toml++ (kept out of headers: it is heavy to compile) and
// the checked reader over the resulting tree.
#include "base/config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace nines {

const ConfigEntry* ConfigValue::Find(std::string_view key) const {
  for (const ConfigEntry& e : table) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

const char* ConfigTypeName(ConfigValue::Type type) {
  switch (type) {
    case ConfigValue::Type::kString:
      return "a string";
    case ConfigValue::Type::kInteger:
      return "an integer";
    case ConfigValue::Type::kFloat:
      return "a number";
    case ConfigValue::Type::kBool:
      return "a boolean";
    case ConfigValue::Type::kArray:
      return "an array";
    case ConfigValue::Type::kTable:
      return "a table";
  }
  return "?";
}

void ConfigErrors::Add(const std::string& file, SourcePos pos, std::string message) {
  lines_.push_back(fmt::format("{}:{}:{}: {}", file, pos.line, pos.column, message));
}

std::string ConfigErrors::ToString() const {
  std::string out;
  for (const std::string& line : lines_) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

Status ConfigErrors::ToStatus() const {
  return empty() ? Status::Ok() : Status::InvalidArgument(ToString());
}

namespace {

SourcePos PosFrom(const toml::source_region& region) {
  return SourcePos{static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

ConfigValue Convert(const toml::node& node) {
  ConfigValue v;
  v.pos = PosFrom(node.source());
  if (auto* s = node.as_string()) {
    v.type = ConfigValue::Type::kString;
    v.string_value = s->get();
  } else if (auto* i = node.as_integer()) {
    v.type = ConfigValue::Type::kInteger;
    v.int_value = i->get();
  } else if (auto* f = node.as_floating_point()) {
    v.type = ConfigValue::Type::kFloat;
    v.float_value = f->get();
  } else if (auto* b = node.as_boolean()) {
    v.type = ConfigValue::Type::kBool;
    v.bool_value = b->get();
  } else if (auto* a = node.as_array()) {
    v.type = ConfigValue::Type::kArray;
    for (const toml::node& item : *a) v.array.push_back(Convert(item));
  } else if (auto* t = node.as_table()) {
    v.type = ConfigValue::Type::kTable;
    for (auto&& [key, value] : *t) {
      ConfigEntry e;
      e.key = std::string(key.str());
      e.key_pos = PosFrom(key.source());
      e.value = Convert(value);
      v.table.push_back(std::move(e));
    }
    // toml++ keeps tables in key order; report in file order instead.
    std::stable_sort(v.table.begin(), v.table.end(), [](const auto& x, const auto& y) {
      return std::pair(x.key_pos.line, x.key_pos.column) <
             std::pair(y.key_pos.line, y.key_pos.column);
    });
  } else {
    // Dates and times: not used by nines; keep as a string so the reader
    // reports a type error at the right place.
    v.type = ConfigValue::Type::kString;
    v.string_value = "(a date or time)";
  }
  return v;
}

}  // namespace

std::optional<ConfigValue> ParseConfigText(std::string_view text, const std::string& file,
                                           ConfigErrors* errors) {
  toml::table table;
  try {
    table = toml::parse(text, file);
  } catch (const toml::parse_error& err) {
    errors->Add(file, PosFrom(err.source()), std::string(err.description()));
    return std::nullopt;
  }
  ConfigValue root = Convert(table);
  root.pos = SourcePos{1, 1};
  return root;
}

std::optional<ConfigValue> LoadConfigFile(const std::string& file, ConfigErrors* errors) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    errors->Add(file, SourcePos{0, 0}, "cannot open config file");
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseConfigText(buffer.str(), file, errors);
}

std::string Endpoint::ToString() const {
  return fmt::format("{}:{}", host, port);
}

bool ParseIpv4Address(std::string_view text, uint32_t* out) {
  uint32_t value = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t start = i;
    unsigned octet = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
      octet = octet * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start || octet > 255) return false;
    if (i - start > 1 && text[start] == '0') return false;  // no leading zeros
    value = (value << 8) | octet;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
  }
  if (i != text.size()) return false;
  if (out) *out = value;
  return true;
}

bool Ipv4Network::Contains(uint32_t ip) const {
  if (prefix == 0) return true;
  return (ip & (~0u << (32 - prefix))) == address;
}

bool ParseIpv4Network(std::string_view text, Ipv4Network* out) {
  size_t slash = text.find('/');
  int prefix = 32;
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 2) return false;
    prefix = 0;
    for (char c : bits) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > 32) return false;
  }
  uint32_t ip;
  if (!ParseIpv4Address(text.substr(0, slash), &ip)) return false;
  out->prefix = prefix;
  out->address = prefix == 0 ? 0 : ip & (~0u << (32 - prefix));
  return true;
}

Status ParseEndpoint(std::string_view text, Endpoint* out) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("bad address \"{}\": expected HOST:PORT", text));
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (!ParseIpv4Address(host, nullptr)) {
    return Status::InvalidArgument(
        fmt::format("bad address \"{}\": \"{}\" is not an IPv4 address", text, host));
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return Status::InvalidArgument(fmt::format("bad address \"{}\": port must be 1-65535", text));
  }
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(port);
  return Status::Ok();
}

std::string Rate::ToString() const {
  const char* unit = window_seconds == 1 ? "s" : window_seconds == 60 ? "min" : "h";
  return fmt::format("{}/{}", count, unit);
}

Status ParseRate(std::string_view text, Rate* out) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("bad rate \"{}\": expected N/s, N/min or N/h", text));
  }
  std::string_view count_text = text.substr(0, slash);
  std::string_view unit = text.substr(slash + 1);
  int64_t count = 0;
  auto [ptr, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (ec != std::errc() || ptr != count_text.data() + count_text.size() || count <= 0) {
    return Status::InvalidArgument(
        fmt::format("bad rate \"{}\": the count must be a positive integer", text));
  }
  int64_t window = 0;
  if (unit == "s")
    window = 1;
  else if (unit == "min")
    window = 60;
  else if (unit == "h")
    window = 3600;
  else
    return Status::InvalidArgument(fmt::format("bad rate \"{}\": unit must be s, min or h", text));
  out->count = count;
  out->window_seconds = window;
  return Status::Ok();
}

TableReader::TableReader(const ConfigValue* table, std::string file, std::string path,
                         ConfigErrors* errors)
    : table_(table), file_(std::move(file)), path_(std::move(path)), errors_(errors) {}

std::string TableReader::Qualified(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

bool TableReader::Has(std::string_view key) const {
  return table_->Find(key) != nullptr;
}

SourcePos TableReader::PosOf(std::string_view key) const {
  const ConfigEntry* e = table_->Find(key);
  return e ? e->value.pos : table_->pos;
}

const ConfigEntry* TableReader::Lookup(std::string_view key) {
  used_.emplace_back(key);
  return table_->Find(key);
}

const ConfigEntry* TableReader::Typed(std::string_view key, ConfigValue::Type type) {
  const ConfigEntry* e = Lookup(key);
  if (!e) return nullptr;
  if (e->value.type != type) {
    errors_->Add(file_, e->value.pos,
                 fmt::format("'{}' must be {}, not {}", Qualified(key), ConfigTypeName(type),
                             ConfigTypeName(e->value.type)));
    return nullptr;
  }
  return e;
}

std::string TableReader::String(std::string_view key, std::string_view fallback) {
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kString);
  return e ? e->value.string_value : std::string(fallback);
}

std::optional<std::string> TableReader::RequiredString(std::string_view key) {
  if (!Has(key)) {
    used_.emplace_back(key);
    Error(fmt::format("missing required key '{}'", Qualified(key)));
    return std::nullopt;
  }
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kString);
  if (!e) return std::nullopt;
  return e->value.string_value;
}

int64_t TableReader::Integer(std::string_view key, int64_t fallback, int64_t min, int64_t max) {
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kInteger);
  if (!e) return fallback;
  if (e->value.int_value < min || e->value.int_value > max) {
    errors_->Add(file_, e->value.pos,
                 fmt::format("'{}' must be between {} and {}, not {}", Qualified(key), min, max,
                             e->value.int_value));
    return fallback;
  }
  return e->value.int_value;
}

std::optional<int64_t> TableReader::RequiredInteger(std::string_view key, int64_t min,
                                                    int64_t max) {
  if (!Has(key)) {
    used_.emplace_back(key);
    Error(fmt::format("missing required key '{}'", Qualified(key)));
    return std::nullopt;
  }
  size_t before = errors_->lines().size();
  int64_t v = Integer(key, 0, min, max);
  if (errors_->lines().size() != before) return std::nullopt;
  return v;
}

double TableReader::Float(std::string_view key, double fallback) {
  const ConfigEntry* e = Lookup(key);
  if (!e) return fallback;
  if (e->value.type == ConfigValue::Type::kFloat) return e->value.float_value;
  if (e->value.type == ConfigValue::Type::kInteger) return static_cast<double>(e->value.int_value);
  errors_->Add(
      file_, e->value.pos,
      fmt::format("'{}' must be a number, not {}", Qualified(key), ConfigTypeName(e->value.type)));
  return fallback;
}

bool TableReader::Bool(std::string_view key, bool fallback) {
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kBool);
  return e ? e->value.bool_value : fallback;
}

std::vector<std::string> TableReader::Strings(std::string_view key) {
  std::vector<std::string> out;
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kArray);
  if (!e) return out;
  for (const ConfigValue& item : e->value.array) {
    if (item.type != ConfigValue::Type::kString) {
      errors_->Add(
          file_, item.pos,
          fmt::format("'{}' must hold strings, not {}", Qualified(key), ConfigTypeName(item.type)));
      continue;
    }
    out.push_back(item.string_value);
  }
  return out;
}

std::vector<double> TableReader::Floats(std::string_view key) {
  std::vector<double> out;
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kArray);
  if (!e) return out;
  for (const ConfigValue& item : e->value.array) {
    if (item.type == ConfigValue::Type::kFloat) {
      out.push_back(item.float_value);
    } else if (item.type == ConfigValue::Type::kInteger) {
      out.push_back(static_cast<double>(item.int_value));
    } else {
      errors_->Add(
          file_, item.pos,
          fmt::format("'{}' must hold numbers, not {}", Qualified(key), ConfigTypeName(item.type)));
    }
  }
  return out;
}

std::optional<Endpoint> TableReader::EndpointValue(std::string_view key, bool required) {
  std::optional<std::string> text;
  if (required) {
    text = RequiredString(key);
  } else if (Has(key)) {
    const ConfigEntry* e = Typed(key, ConfigValue::Type::kString);
    if (e) text = e->value.string_value;
  } else {
    used_.emplace_back(key);
  }
  if (!text) return std::nullopt;
  Endpoint ep;
  if (Status s = ParseEndpoint(*text, &ep); !s.ok()) {
    ErrorAt(key, fmt::format("'{}': {}", Qualified(key), s.message()));
    return std::nullopt;
  }
  return ep;
}

std::optional<Rate> TableReader::RateValue(std::string_view key) {
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kString);
  if (!e) return std::nullopt;
  Rate rate;
  if (Status s = ParseRate(e->value.string_value, &rate); !s.ok()) {
    ErrorAt(key, fmt::format("'{}': {}", Qualified(key), s.message()));
    return std::nullopt;
  }
  return rate;
}

std::optional<TableReader> TableReader::Table(std::string_view key) {
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kTable);
  if (!e) return std::nullopt;
  return TableReader(&e->value, file_, Qualified(key), errors_);
}

std::vector<TableReader> TableReader::TableArray(std::string_view key) {
  std::vector<TableReader> out;
  const ConfigEntry* e = Typed(key, ConfigValue::Type::kArray);
  if (!e) return out;
  for (size_t i = 0; i < e->value.array.size(); ++i) {
    const ConfigValue& item = e->value.array[i];
    if (item.type != ConfigValue::Type::kTable) {
      errors_->Add(file_, item.pos,
                   fmt::format("'{}' must be an array of tables ([[{}]])", Qualified(key), key));
      continue;
    }
    out.emplace_back(&item, file_, fmt::format("{}[{}]", Qualified(key), i), errors_);
  }
  return out;
}

void TableReader::ErrorAt(std::string_view key, std::string message) {
  errors_->Add(file_, PosOf(key), std::move(message));
}

void TableReader::Error(std::string message) {
  errors_->Add(file_, table_->pos, std::move(message));
}

void TableReader::Finish() {
  for (const ConfigEntry& e : table_->table) {
    if (std::find(used_.begin(), used_.end(), e.key) == used_.end()) {
      errors_->Add(file_, e.key_pos, fmt::format("unknown key '{}'", Qualified(e.key)));
    }
  }
}

}  // namespace nines
