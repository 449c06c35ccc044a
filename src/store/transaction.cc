// Encoding of MULTI/EXEC transactions; see transaction.h.
#include "store/transaction.h"

#include "base/coding.h"

namespace nines::store {

void EncodeTxWatches(std::span<const TxWatch> watches, std::string* out) {
  PutVarint64(out, watches.size());
  for (const TxWatch& w : watches) {
    PutLengthPrefixed(out, w.key);
    PutFixed64(out, w.index);
    PutFixed64(out, static_cast<uint64_t>(w.time_ms));
  }
}

bool DecodeTxWatches(std::string_view in, std::vector<TxWatch>* watches) {
  Decoder d(in);
  uint64_t n = 0;
  watches->clear();
  if (!d.GetVarint64(&n) || n > d.remaining()) return false;
  for (uint64_t i = 0; i < n; ++i) {
    TxWatch w;
    uint64_t time = 0;
    if (!d.GetLengthPrefixed(&w.key) || !d.GetFixed64(&w.index) || !d.GetFixed64(&time)) {
      return false;
    }
    w.time_ms = static_cast<int64_t>(time);
    watches->push_back(w);
  }
  return d.done();
}

std::string EncodeTxArgs(TxItemKind kind, std::span<const std::string_view> args) {
  std::string out(1, static_cast<char>(kind));
  PutVarint64(&out, args.size());
  for (std::string_view a : args) PutLengthPrefixed(&out, a);
  return out;
}

std::string EncodeTxBytes(TxItemKind kind, std::string_view bytes) {
  std::string out(1, static_cast<char>(kind));
  out.append(bytes);
  return out;
}

bool SplitTxItem(std::string_view item, TxItemKind* kind, std::string_view* rest) {
  if (item.empty()) return false;
  switch (item[0]) {
    case 'L':
    case 'W':
    case 'R':
    case 'C':
      *kind = static_cast<TxItemKind>(item[0]);
      *rest = item.substr(1);
      return true;
    default:
      return false;
  }
}

bool DecodeTxArgs(std::string_view rest, std::vector<std::string_view>* args) {
  Decoder d(rest);
  uint64_t n = 0;
  args->clear();
  if (!d.GetVarint64(&n) || n == 0 || n > d.remaining()) return false;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view a;
    if (!d.GetLengthPrefixed(&a)) return false;
    args->push_back(a);
  }
  return d.done();
}

}  // namespace nines::store
