// Safe name decompression and the small name utilities the zone needs.
#include "dns/name.h"

#include <fmt/format.h>

#include "dns/dns_constants.h"

namespace nines::dns {
namespace {

// A name has at most 127 labels, so more pointers than that is a loop even
// if each pointer goes backwards (they cannot, but bound it anyway).
constexpr int kMaxPointers = 128;

inline uint8_t Lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

}  // namespace

bool ReadName(std::span<const uint8_t> message, size_t* offset, std::string* out) {
  size_t pos = *offset;
  size_t end_in_place = 0;  // where the name ends in the original position
  bool jumped = false;
  int pointers = 0;
  size_t wire_length = 0;
  // Pointers must go strictly backwards from the label that holds them, so
  // the walk terminates.
  size_t limit = pos;
  const size_t start_size = out->size();
  while (true) {
    if (pos >= message.size()) return false;
    uint8_t len = message[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= message.size()) return false;
      size_t target = ((len & 0x3F) << 8) | message[pos + 1];
      if (!jumped) end_in_place = pos + 2;
      if (target >= limit || target < kHeaderSize || ++pointers > kMaxPointers) {
        out->resize(start_size);
        return false;
      }
      jumped = true;
      limit = target;
      pos = target;
      continue;
    }
    if ((len & 0xC0) != 0) {  // 0x40 extended and 0x80 reserved label types
      out->resize(start_size);
      return false;
    }
    wire_length += 1 + len;
    if (wire_length > kMaxNameLength || pos + 1 + len > message.size()) {
      out->resize(start_size);
      return false;
    }
    out->append(reinterpret_cast<const char*>(&message[pos]), 1 + len);
    if (len == 0) {
      if (!jumped) end_in_place = pos + 1;
      break;
    }
    pos += 1 + len;
  }
  *offset = end_in_place;
  return true;
}

bool NamesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(static_cast<uint8_t>(a[i])) != Lower(static_cast<uint8_t>(b[i]))) return false;
  }
  return true;
}

int RelativeLength(std::string_view name, std::string_view zone) {
  if (zone.size() > name.size()) return -1;
  // Walk the labels of `name` until the rest is as long as the zone, so the
  // comparison starts on a label boundary.
  size_t pos = 0;
  while (name.size() - pos > zone.size()) {
    pos += 1 + static_cast<uint8_t>(name[pos]);
    if (pos >= name.size()) return -1;
  }
  if (name.size() - pos != zone.size()) return -1;
  return NamesEqual(name.substr(pos), zone) ? static_cast<int>(pos) : -1;
}

int LabelCount(std::string_view wire_name) {
  int count = 0;
  size_t pos = 0;
  while (pos < wire_name.size() && wire_name[pos] != 0) {
    pos += 1 + static_cast<uint8_t>(wire_name[pos]);
    ++count;
  }
  return count;
}

bool NameFromText(std::string_view text, std::string* wire, bool keep_case) {
  wire->clear();
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (!text.empty()) {
    size_t start = 0;
    while (true) {
      size_t dot = text.find('.', start);
      std::string_view label =
          text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (label.empty() || label.size() > kMaxLabelLength) return false;
      wire->push_back(static_cast<char>(label.size()));
      for (char c : label) {
        wire->push_back(keep_case ? c : static_cast<char>(Lower(static_cast<uint8_t>(c))));
      }
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  wire->push_back('\0');
  return wire->size() <= kMaxNameLength;
}

std::string NameToText(std::string_view wire_name) {
  std::string out;
  size_t pos = 0;
  while (pos < wire_name.size() && wire_name[pos] != 0) {
    size_t len = static_cast<uint8_t>(wire_name[pos]);
    for (size_t i = pos + 1; i <= pos + len && i < wire_name.size(); ++i) {
      uint8_t c = static_cast<uint8_t>(wire_name[i]);
      if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c > ' ' && c <= '~') {
        out.push_back(static_cast<char>(c));
      } else {
        out += fmt::format("\\{:03}", c);
      }
    }
    out.push_back('.');
    pos += 1 + len;
  }
  if (out.empty()) out.push_back('.');
  return out;
}

void LowerName(std::string* wire_name) {
  for (char& c : *wire_name) c = static_cast<char>(Lower(static_cast<uint8_t>(c)));
}

const char* TypeName(uint16_t type) {
  switch (type) {
    case kTypeA:
      return "A";
    case kTypeNs:
      return "NS";
    case kTypeCname:
      return "CNAME";
    case kTypeSoa:
      return "SOA";
    case kTypeAaaa:
      return "AAAA";
    case kTypeAny:
      return "ANY";
    default:
      return "OTHER";
  }
}

const char* RcodeName(int rcode) {
  switch (rcode) {
    case kRcodeNoError:
      return "NOERROR";
    case kRcodeFormErr:
      return "FORMERR";
    case kRcodeServFail:
      return "SERVFAIL";
    case kRcodeNxDomain:
      return "NXDOMAIN";
    case kRcodeNotImp:
      return "NOTIMP";
    case kRcodeRefused:
      return "REFUSED";
    case kRcodeBadVers:
      return "BADVERS";
    default:
      return "OTHER";
  }
}

}  // namespace nines::dns
