// Domain names in wire form (length-prefixed labels ending with the root
// label): safe reading with decompression (RFC 1035 4.1.4), case-insensitive
// comparison, zone membership, and conversion from and to text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace nines::dns {

// Reads a possibly compressed name starting at `*offset` in `message`.
// On success appends the uncompressed wire name (original case) to `out`,
// moves `*offset` past the name as it appears in place, and returns true.
// Fails on: running past the end, a pointer that does not point strictly
// backwards (loops), a pointer into the header, reserved label types,
// labels over 63 bytes, names over 255 bytes, too many pointers.
bool ReadName(std::span<const uint8_t> message, size_t* offset, std::string* out);

// Case-insensitive (ASCII) equality of two uncompressed wire names.
bool NamesEqual(std::string_view a, std::string_view b);

// If `name` equals `zone` or lies below it, returns the length of the part
// of `name` before the zone (0 for the apex); otherwise returns -1.
// Both are uncompressed wire names.
int RelativeLength(std::string_view name, std::string_view zone);

// Number of labels, not counting the root.
int LabelCount(std::string_view wire_name);

// "www.Shop.test." or "shop.test" -> wire form, lower case unless
// `keep_case`. Returns false for empty labels, labels over 63 bytes or names
// over 255 bytes. "." and "" give the root name.
bool NameFromText(std::string_view text, std::string* wire, bool keep_case = false);
// Wire form -> "www.shop.test." (bytes outside [!-~] are escaped \DDD).
std::string NameToText(std::string_view wire_name);
// Lower-cases ASCII letters in place.
void LowerName(std::string* wire_name);

}  // namespace nines::dns
