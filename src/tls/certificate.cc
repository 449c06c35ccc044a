// Certificate names and checks (OpenSSL's X509 API).
#include "tls/certificate.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "tls/tls_error.h"

namespace nines::tls {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

int64_t UnixTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::vector<std::string> CertificateNames(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type != GEN_DNS) continue;
      const unsigned char* data = ASN1_STRING_get0_data(n->d.dNSName);
      int length = ASN1_STRING_length(n->d.dNSName);
      names.push_back(Lower(std::string_view(reinterpret_cast<const char*>(data), length)));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    X509_NAME* subject = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i >= 0) {
      ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
      unsigned char* utf8 = nullptr;
      int length = ASN1_STRING_to_UTF8(&utf8, cn);
      if (length > 0)
        names.push_back(Lower(std::string_view(reinterpret_cast<char*>(utf8), length)));
      OPENSSL_free(utf8);
    }
  }
  return names;
}

bool NameMatches(std::string_view pattern, std::string_view name) {
  if (name.size() > 0 && name.back() == '.') name.remove_suffix(1);
  auto equal = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    // "*.example.com" covers exactly one more label: "a.example.com", not
    // "example.com" nor "a.b.example.com".
    size_t dot = name.find('.');
    return dot != std::string_view::npos && dot > 0 && equal(pattern.substr(1), name.substr(dot));
  }
  return equal(pattern, name);
}

CertificateReport CheckCertificate(const CertificateFiles& files, int64_t now_unix, int warn_days) {
  CertificateReport report;
  ERR_clear_error();
  std::unique_ptr<BIO, BioFree> cert_bio(BIO_new_file(files.cert.c_str(), "r"));
  if (!cert_bio) {
    report.errors.push_back(
        fmt::format("cannot read certificate {}: {}", files.cert, TakeErrorText("no such file")));
    return report;
  }
  std::vector<std::unique_ptr<X509, X509Free>> chain;
  while (X509* x = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    chain.emplace_back(x);
  }
  unsigned long last = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (chain.empty()) {
    ERR_clear_error();
    report.errors.push_back(fmt::format("{}: no PEM certificate in the file", files.cert));
    return report;
  }
  if (!clean_end && last != 0) {
    report.errors.push_back(fmt::format("{}: certificate {} of the chain does not load: {}",
                                        files.cert, chain.size() + 1, TakeErrorText()));
  }
  ERR_clear_error();
  X509* leaf = chain[0].get();
  report.names = CertificateNames(leaf);
  for (size_t i = 1; i < chain.size(); ++i) {
    if (X509_check_issued(chain[i].get(), chain[i - 1].get()) != X509_V_OK) {
      report.errors.push_back(
          fmt::format("{}: the chain is out of order: certificate {} did not issue certificate {}",
                      files.cert, i + 1, i));
    }
  }

  std::unique_ptr<BIO, BioFree> key_bio(BIO_new_file(files.key.c_str(), "r"));
  std::unique_ptr<EVP_PKEY, KeyFree> key;
  if (key_bio) key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    report.errors.push_back(
        fmt::format("cannot load private key {}: {}", files.key, TakeErrorText("no key")));
  } else if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    report.errors.push_back(
        fmt::format("the key {} does not match the certificate {}", files.key, files.cert));
  }

  time_t now = static_cast<time_t>(now_unix);
  const ASN1_TIME* not_before = X509_get0_notBefore(leaf);
  const ASN1_TIME* not_after = X509_get0_notAfter(leaf);
  report.not_after_unix = UnixTime(not_after);
  if (X509_cmp_time(not_before, &now) > 0) {
    report.errors.push_back(fmt::format("{}: the certificate is not valid yet", files.cert));
  }
  if (X509_cmp_time(not_after, &now) < 0) {
    report.errors.push_back(fmt::format("{}: the certificate expired", files.cert));
  } else if (report.not_after_unix - now_unix < int64_t{warn_days} * 86400) {
    report.warnings.push_back(fmt::format("{}: the certificate expires in {} days", files.cert,
                                          (report.not_after_unix - now_unix) / 86400));
  }
  ERR_clear_error();
  return report;
}

}  // namespace nines::tls
