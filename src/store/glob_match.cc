// Redis's stringmatchlen; see glob_match.h. Kept close to util.c so the two
// can be read side by side.
#include "store/glob_match.h"

#include <cctype>
#include <utility>

namespace nines::store {

namespace {

constexpr int kMaxNesting = 1000;

int Lower(int c) {
  return std::tolower(static_cast<unsigned char>(c));
}

// A byte as Redis compares it in a range where char is signed (x86-64):
// 0x80..0xff are -128..-1 (ranges like [a-\xff] depend on it).
int SignedValue(char c) {
  const int u = static_cast<unsigned char>(c);
  return u >= 128 ? u - 256 : u;
}

// p/plen: the pattern left; s/slen: the text left. Chars are read as
// (signed) char, as Redis does.
bool Match(const char* p, int plen, const char* s, int slen, bool nocase, bool* skip_longer,
           int nesting) {
  if (nesting > kMaxNesting) return false;  // an abusive pattern
  while (plen > 0 && slen > 0) {
    switch (p[0]) {
      case '*':
        while (plen > 1 && p[1] == '*') {
          ++p;
          --plen;
        }
        if (plen == 1) return true;  // matches everything left
        while (slen > 0) {
          if (Match(p + 1, plen - 1, s, slen, nocase, skip_longer, nesting + 1)) return true;
          if (*skip_longer) return false;  // the rest failed on a shorter text: it fails here too
          ++s;
          --slen;
        }
        *skip_longer = true;
        return false;
      case '?':
        ++s;
        --slen;
        break;
      case '[': {
        ++p;
        --plen;
        const bool negate = plen > 0 && p[0] == '^';
        if (negate) {
          ++p;
          --plen;
        }
        bool matched = false;
        while (true) {
          if (plen >= 2 && p[0] == '\\') {
            ++p;
            --plen;
            if (p[0] == s[0]) matched = true;
          } else if (plen > 0 && p[0] == ']') {
            break;
          } else if (plen == 0) {
            --p;  // unterminated: the end of the pattern closes it
            ++plen;
            break;
          } else if (plen >= 3 && p[1] == '-') {
            int start = SignedValue(p[0]);
            int end = SignedValue(p[2]);
            int c = SignedValue(s[0]);
            if (start > end) std::swap(start, end);
            if (nocase) {
              start = Lower(start);
              end = Lower(end);
              c = Lower(c);
            }
            p += 2;
            plen -= 2;
            if (c >= start && c <= end) matched = true;
          } else if (nocase ? Lower(p[0]) == Lower(s[0]) : p[0] == s[0]) {
            matched = true;
          }
          ++p;
          --plen;
        }
        if (negate) matched = !matched;
        if (!matched) return false;
        ++s;
        --slen;
        break;
      }
      case '\\':
        if (plen >= 2) {
          ++p;
          --plen;
        }
        [[fallthrough]];
      default:
        if (nocase ? Lower(p[0]) != Lower(s[0]) : p[0] != s[0]) return false;
        ++s;
        --slen;
        break;
    }
    ++p;
    --plen;
    if (slen == 0) {
      while (plen > 0 && p[0] == '*') {
        ++p;
        --plen;
      }
      break;
    }
  }
  return plen == 0 && slen == 0;
}

}  // namespace

bool StringMatchLen(std::string_view pattern, std::string_view text, bool nocase) {
  bool skip_longer = false;
  return Match(pattern.data(), static_cast<int>(pattern.size()), text.data(),
               static_cast<int>(text.size()), nocase, &skip_longer, 0);
}

}  // namespace nines::store
