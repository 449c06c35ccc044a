// The value a key holds: a type tag and that type's data. Strings are bytes;
// hashes and sets are HashValue / SetValue, lists StringList and sorted sets
// SortedSet.
//
// Adding a type touches: ValueType (already listed), a slot in KvEntry,
// ValueBytes, EncodeValue / DecodeValue (snapshots), CloneValue (COPY) and
// ObjectEncoding, all in kv_value.cc; TypeName / ParseTypeName know every
// type already.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/coding.h"
#include "store/hash_value.h"
#include "store/set_value.h"
#include "store/sorted_set.h"
#include "store/string_list.h"

namespace nines::store {

// Redis's OBJ_* numbers; also the type byte of snapshot format NVK3.
enum class ValueType : uint8_t { kString = 0, kList = 1, kSet = 2, kZset = 3, kHash = 4 };

// What TYPE answers: "string", "list", "set", "zset", "hash".
std::string_view TypeName(ValueType type);
// The inverse, case-insensitive (SCAN ... TYPE t); false for unknown names.
bool ParseTypeName(std::string_view name, ValueType* type);

struct KvEntry {
  ValueType type = ValueType::kString;
  std::string value;                 // kString: the bytes
  std::unique_ptr<HashValue> hash;   // kHash: never empty (an empty hash is no key)
  std::unique_ptr<SetValue> set;     // kSet: never empty
  std::unique_ptr<StringList> list;  // kList: never empty
  std::unique_ptr<SortedSet> zset;   // kZset: never empty
  int64_t expire_at_ms = 0;          // 0: no expiry; else Unix ms (log time)
  uint64_t version = 0;              // log index of the last write
  uint64_t charged_bytes = 0;        // ValueBytes counted in KvState::memory_bytes()
};

// The memory accounting hook: bytes this entry's value is charged for
// (string length; collections: contents plus kElementOverheadBytes each).
uint64_t ValueBytes(const KvEntry& entry);
// True if the entry holds a collection with no elements (the key must go).
bool IsEmptyCollection(const KvEntry& entry);
// Turns entry into an empty value of type (dropping what it held).
void ResetValue(KvEntry* entry, ValueType type);
// Copies src's value (type and data, not expiry or version) into dst.
void CloneValue(const KvEntry& src, KvEntry* dst);
// OBJECT ENCODING, computed from the value as Redis 7.0 would pick it for a
// value built in one go (Redis never converts back after shrinking).
std::string_view ObjectEncoding(const KvEntry& entry);

// Snapshot encoding of the value: type byte, then the type's data (string:
// length-prefixed bytes; hash: varint count, field and value pairs; set:
// varint count, members), in the value's own (replicated) order.
void EncodeValue(const KvEntry& entry, std::string* out);
// False on a bad type byte, truncation, or duplicate elements.
bool DecodeValue(Decoder* decoder, KvEntry* entry);

}  // namespace nines::store
