// Shared secrets: constant-time comparison, reading a secret from a file (the
// preferred way to configure one), and HMAC-SHA256 (OpenSSL libcrypto) for
// messages that peers authenticate with a shared key.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace nines {

// True when a == b. The time taken depends on the lengths only, never on where
// the first difference is, so a network client cannot guess a secret byte by byte.
bool SecretEquals(std::string_view a, std::string_view b);

// Reads the secret in `path` (relative paths are taken from the directory of
// `relative_to`, a config file), into *secret without a trailing newline.
// An unreadable file is an IoError, an empty one InvalidArgument. *warning is
// set when the file is readable by its group or by everyone.
Status ReadSecretFile(const std::string& path, const std::string& relative_to, std::string* secret,
                      std::string* warning);

// HMAC-SHA256 of data under key: 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);

// Lowercase hex of bytes.
std::string HexEncode(std::string_view bytes);

// `bytes` random bytes (OpenSSL's CSPRNG), raw.
std::string RandomBytes(size_t bytes);

// A fresh random secret: `bytes` random bytes, hex-encoded.
std::string RandomSecret(size_t bytes = 32);

}  // namespace nines
