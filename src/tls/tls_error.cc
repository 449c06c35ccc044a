// OpenSSL error queue to error_code and text.
#include "tls/tls_error.h"

#include <openssl/err.h>

namespace nines::tls {

namespace {

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    char text[256];
    ERR_error_string_n(static_cast<unsigned long>(value), text, sizeof(text));
    return text;
  }
};

}  // namespace

const std::error_category& TlsCategory() {
  static const Category category;
  return category;
}

std::error_code TakeError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return {};
  return std::error_code(static_cast<int>(e), TlsCategory());
}

std::string TakeErrorText(const std::string& fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof(text));
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? fallback : out;
}

}  // namespace nines::tls
