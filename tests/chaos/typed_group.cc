// Commands and state lines of the chaos run's typed transactions; see
// typed_group.h.
#include "typed_group.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace nines::chaos {
namespace {

// One element of a flat array at raw[*pos]: an integer or a bulk string.
bool ParseElement(const std::string& raw, size_t* pos, std::string* item) {
  size_t eol = raw.find("\r\n", *pos);
  if (eol == std::string::npos || eol == *pos) return false;
  std::string head = raw.substr(*pos, eol - *pos);
  if (head[0] == ':') {
    *item = head.substr(1);
    *pos = eol + 2;
    return true;
  }
  if (head[0] != '$') return false;
  if (head == "$-1") {
    item->clear();
    *pos = eol + 2;
    return true;
  }
  char* end = nullptr;
  long n = std::strtol(head.c_str() + 1, &end, 10);
  if (*end != '\0' || n < 0 || eol + 2 + static_cast<size_t>(n) + 2 > raw.size()) return false;
  *item = raw.substr(eol + 2, static_cast<size_t>(n));
  *pos = eol + 2 + static_cast<size_t>(n) + 2;
  return true;
}

std::string Join(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) out += ' ';
    out += v;
  }
  return out;
}

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string v;
  while (in >> v) out.push_back(v);
  return out;
}

}  // namespace

std::vector<std::vector<std::string>> TypedTransaction(const std::string& group,
                                                       const std::string& value, uint64_t score) {
  return {{"HINCRBY", group + ":h", "n", "1"},
          {"RPUSH", group + ":l", value},
          {"SADD", group + ":s", value},
          {"ZADD", group + ":z", std::to_string(score), value}};
}

bool ParseFlatArray(const std::string& raw, std::vector<std::string>* items) {
  items->clear();
  size_t eol = raw.find("\r\n");
  if (raw.empty() || raw[0] != '*' || eol == std::string::npos) return false;
  char* end = nullptr;
  long n = std::strtol(raw.c_str() + 1, &end, 10);
  if (end != raw.c_str() + eol || n < 0) return false;
  size_t pos = eol + 2;
  for (long i = 0; i < n; ++i) {
    std::string item;
    if (!ParseElement(raw, &pos, &item)) return false;
    items->push_back(std::move(item));
  }
  return pos == raw.size();
}

std::vector<std::vector<std::string>> TypedGroupReads(const std::string& group) {
  return {{"HGET", group + ":h", "n"},
          {"LRANGE", group + ":l", "0", "-1"},
          {"SMEMBERS", group + ":s"},
          {"ZRANGE", group + ":z", "0", "-1"}};
}

bool TypedGroupLine(const std::vector<std::string>& replies, std::string* line) {
  if (replies.size() != 4) return false;
  std::string counter;
  size_t pos = 0;
  if (!ParseElement(replies[0], &pos, &counter) || pos != replies[0].size()) return false;
  if (counter.empty()) counter = "0";
  std::vector<std::string> list, set, zset;
  if (!ParseFlatArray(replies[1], &list) || !ParseFlatArray(replies[2], &set) ||
      !ParseFlatArray(replies[3], &zset)) {
    return false;
  }
  std::sort(set.begin(), set.end());  // SMEMBERS has no order
  *line = counter + " | " + Join(list) + " | " + Join(set) + " | " + Join(zset);
  return true;
}

bool ParseTypedGroup(const std::string& line, TypedGroupState* state) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t bar = line.find(" | ", start);
    parts.push_back(line.substr(start, bar == std::string::npos ? bar : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 3;
  }
  if (parts.size() != 4) return false;
  char* end = nullptr;
  state->counter = std::strtoll(parts[0].c_str(), &end, 10);
  if (parts[0].empty() || *end != '\0') return false;
  state->list = Split(parts[1]);
  state->set = Split(parts[2]);
  state->zset = Split(parts[3]);
  return true;
}

}  // namespace nines::chaos
