// The chaos run's typed transactions: each one is a MULTI/EXEC that adds one
// unique value to a group of four keys of the new types at once (HINCRBY of
// a hash field, RPUSH to a list, SADD to a set, ZADD to a sorted set). A
// group's final state then shows whether every transaction was applied whole,
// once, or not at all: the four sizes agree, the list holds no value twice,
// and the list, set and sorted set hold the same values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nines::chaos {

// A group's keys start with 't'; its four keys are "<group>:h", ":l", ":s", ":z".
inline bool IsTypedKey(const std::string& key) {
  return !key.empty() && key[0] == 't';
}

// The commands queued between MULTI and EXEC that add `value` to `group`
// (`score` orders the sorted set).
std::vector<std::vector<std::string>> TypedTransaction(const std::string& group,
                                                       const std::string& value, uint64_t score);

// The elements of a flat RESP array of integers and bulk strings, as text
// (nil elements as ""); false if raw is not such an array.
bool ParseFlatArray(const std::string& raw, std::vector<std::string>* items);

// The reads of a group's state: HGET, LRANGE, SMEMBERS and ZRANGE.
std::vector<std::vector<std::string>> TypedGroupReads(const std::string& group);

// A group's state as one line, from the raw replies to TypedGroupReads:
// "<hash counter> | <list> | <set> | <zset>", each collection's values
// space-separated (the set's sorted; values hold no spaces). False if a
// reply is not what those reads answer.
bool TypedGroupLine(const std::vector<std::string>& replies, std::string* line);

// The parts of a state line; false if it is malformed.
struct TypedGroupState {
  int64_t counter = 0;
  std::vector<std::string> list, set, zset;
};
bool ParseTypedGroup(const std::string& line, TypedGroupState* state);

}  // namespace nines::chaos
