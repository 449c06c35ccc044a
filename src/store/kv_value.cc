// The per-type parts of a value: names, memory, copies, encodings, and the
// snapshot encoding of each type.
#include "store/kv_value.h"

#include <cmath>
#include <cstring>

#include "store/kv_state.h"

namespace nines::store {
namespace {

bool EqualsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    if (c != lower[i]) return false;
  }
  return true;
}

// Redis's string2ll-able and short enough for OBJ_ENCODING_INT.
bool LooksLikeInt(std::string_view s) {
  int64_t v = 0;
  return s.size() <= 20 && ParseRedisInt64(s, &v);
}

}  // namespace

std::string_view TypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZset:
      return "zset";
    case ValueType::kHash:
      return "hash";
  }
  return "unknown";
}

bool ParseTypeName(std::string_view name, ValueType* type) {
  for (ValueType t : {ValueType::kString, ValueType::kList, ValueType::kSet, ValueType::kZset,
                      ValueType::kHash}) {
    if (EqualsLower(name, TypeName(t))) {
      *type = t;
      return true;
    }
  }
  return false;
}

uint64_t ValueBytes(const KvEntry& entry) {
  switch (entry.type) {
    case ValueType::kString:
      return entry.value.size();
    case ValueType::kHash:
      return entry.hash ? entry.hash->bytes() : 0;
    case ValueType::kSet:
      return entry.set ? entry.set->bytes() : 0;
    case ValueType::kList:
      return entry.list ? entry.list->bytes() + kElementOverheadBytes * entry.list->size() : 0;
    case ValueType::kZset:
      return entry.zset ? entry.zset->bytes() + kElementOverheadBytes * entry.zset->size() : 0;
  }
  return 0;
}

bool IsEmptyCollection(const KvEntry& entry) {
  switch (entry.type) {
    case ValueType::kString:
      return false;
    case ValueType::kHash:
      return entry.hash == nullptr || entry.hash->empty();
    case ValueType::kSet:
      return entry.set == nullptr || entry.set->empty();
    case ValueType::kList:
      return entry.list == nullptr || entry.list->empty();
    case ValueType::kZset:
      return entry.zset == nullptr || entry.zset->empty();
  }
  return false;
}

void ResetValue(KvEntry* entry, ValueType type) {
  entry->type = type;
  entry->value.clear();
  entry->value.shrink_to_fit();
  entry->hash.reset();
  entry->set.reset();
  entry->list.reset();
  entry->zset.reset();
  if (type == ValueType::kHash) entry->hash = std::make_unique<HashValue>();
  if (type == ValueType::kSet) entry->set = std::make_unique<SetValue>();
  if (type == ValueType::kList) entry->list = std::make_unique<StringList>();
  if (type == ValueType::kZset) entry->zset = std::make_unique<SortedSet>();
}

void CloneValue(const KvEntry& src, KvEntry* dst) {
  ResetValue(dst, src.type);
  switch (src.type) {
    case ValueType::kString:
      dst->value = src.value;
      break;
    case ValueType::kHash:
      *dst->hash = *src.hash;
      break;
    case ValueType::kSet:
      *dst->set = *src.set;
      break;
    case ValueType::kList:
      *dst->list = *src.list;
      break;
    case ValueType::kZset:
      for (const SortedSet::Node* x = src.zset->first(); x != nullptr; x = x->next()) {
        dst->zset->Insert(x->member, x->score);
      }
      break;
  }
}

std::string_view ObjectEncoding(const KvEntry& entry) {
  switch (entry.type) {
    case ValueType::kString:
      if (LooksLikeInt(entry.value)) return "int";
      return entry.value.size() <= 44 ? "embstr" : "raw";
    case ValueType::kHash: {
      // hash-max-listpack-entries 512, hash-max-listpack-value 64 (Redis 7.0's defaults)
      if (entry.hash->size() > 512) return "hashtable";
      for (size_t i = 0; i < entry.hash->size(); ++i) {
        const HashValue::Field& f = entry.hash->at(i);
        if (f.first.size() > 64 || f.second.size() > 64) return "hashtable";
      }
      return "listpack";
    }
    case ValueType::kSet: {
      // set-max-intset-entries 512
      if (entry.set->size() > 512) return "hashtable";
      for (size_t i = 0; i < entry.set->size(); ++i) {
        if (!LooksLikeInt(entry.set->at(i))) return "hashtable";
      }
      return "intset";
    }
    case ValueType::kList:
      return "quicklist";  // Redis 7.0 (listpack lists came in 7.2)
    case ValueType::kZset: {
      // zset-max-listpack-entries 128, zset-max-listpack-value 64
      if (entry.zset->size() > 128) return "skiplist";
      for (const SortedSet::Node* x = entry.zset->first(); x != nullptr; x = x->next()) {
        if (x->member.size() > 64) return "skiplist";
      }
      return "listpack";
    }
  }
  return "unknown";
}

void EncodeValue(const KvEntry& entry, std::string* out) {
  out->push_back(static_cast<char>(entry.type));
  switch (entry.type) {
    case ValueType::kString:
      PutLengthPrefixed(out, entry.value);
      break;
    case ValueType::kHash:
      PutVarint64(out, entry.hash->size());
      for (size_t i = 0; i < entry.hash->size(); ++i) {
        PutLengthPrefixed(out, entry.hash->at(i).first);
        PutLengthPrefixed(out, entry.hash->at(i).second);
      }
      break;
    case ValueType::kSet:
      PutVarint64(out, entry.set->size());
      for (size_t i = 0; i < entry.set->size(); ++i) PutLengthPrefixed(out, entry.set->at(i));
      break;
    case ValueType::kList:
      PutVarint64(out, entry.list->size());
      for (uint64_t i = 0; i < entry.list->size(); ++i) PutLengthPrefixed(out, (*entry.list)[i]);
      break;
    case ValueType::kZset:
      PutVarint64(out, entry.zset->size());
      for (const SortedSet::Node* x = entry.zset->first(); x != nullptr; x = x->next()) {
        PutLengthPrefixed(out, x->member);
        uint64_t bits = 0;
        std::memcpy(&bits, &x->score, sizeof(bits));
        PutFixed64(out, bits);
      }
      break;
  }
}

bool DecodeValue(Decoder* decoder, KvEntry* entry) {
  uint8_t type = 0;
  if (!decoder->GetByte(&type)) return false;
  uint64_t count = 0;
  switch (static_cast<ValueType>(type)) {
    case ValueType::kString: {
      std::string_view value;
      if (!decoder->GetLengthPrefixed(&value)) return false;
      ResetValue(entry, ValueType::kString);
      entry->value.assign(value);
      return true;
    }
    case ValueType::kHash: {
      if (!decoder->GetVarint64(&count) || count == 0 || count > decoder->remaining()) {
        return false;
      }
      ResetValue(entry, ValueType::kHash);
      for (uint64_t i = 0; i < count; ++i) {
        std::string_view field;
        std::string_view value;
        if (!decoder->GetLengthPrefixed(&field) || !decoder->GetLengthPrefixed(&value) ||
            !entry->hash->Set(field, value)) {
          return false;
        }
      }
      return true;
    }
    case ValueType::kSet: {
      if (!decoder->GetVarint64(&count) || count == 0 || count > decoder->remaining()) {
        return false;
      }
      ResetValue(entry, ValueType::kSet);
      for (uint64_t i = 0; i < count; ++i) {
        std::string_view member;
        if (!decoder->GetLengthPrefixed(&member) || !entry->set->Add(member)) return false;
      }
      return true;
    }
    case ValueType::kList: {
      if (!decoder->GetVarint64(&count) || count == 0 || count > decoder->remaining()) {
        return false;
      }
      ResetValue(entry, ValueType::kList);
      for (uint64_t i = 0; i < count; ++i) {
        std::string_view item;
        if (!decoder->GetLengthPrefixed(&item)) return false;
        entry->list->PushBack(item);
      }
      return true;
    }
    case ValueType::kZset: {
      if (!decoder->GetVarint64(&count) || count == 0 || count > decoder->remaining()) {
        return false;
      }
      ResetValue(entry, ValueType::kZset);
      for (uint64_t i = 0; i < count; ++i) {
        std::string_view member;
        uint64_t bits = 0;
        if (!decoder->GetLengthPrefixed(&member) || !decoder->GetFixed64(&bits)) return false;
        double score = 0;
        std::memcpy(&score, &bits, sizeof(score));
        if (std::isnan(score) || entry->zset->Find(member) != nullptr) return false;
        entry->zset->Insert(member, score);
      }
      return true;
    }
  }
  return false;
}

}  // namespace nines::store
