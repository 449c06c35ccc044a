// libFuzzer target: every Raft decoder must reject or accept arbitrary bytes
// without crashing, and whatever it accepts must re-encode to an equal value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "raft/codec.h"

namespace {

template <typename T, typename Decode, typename Encode>
void RoundTrip(std::string_view in, Decode decode, Encode encode) {
  T value;
  if (nines::Status s = decode(in, &value); !s.ok()) {
    if (s.message().empty()) std::abort();  // a rejection must say why
    return;
  }
  T again;
  if (!decode(encode(value), &again).ok() || !(again == value)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nines::raft;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      RoundTrip<Message>(in, DecodeMessage, EncodeMessage);
      break;
    case 1:
      RoundTrip<Entry>(in, DecodeEntry, EncodeEntry);
      break;
    case 2:
      RoundTrip<HardState>(in, DecodeHardState, EncodeHardState);
      break;
    case 3:
      RoundTrip<SnapshotMeta>(in, DecodeSnapshotMeta, EncodeSnapshotMeta);
      break;
    case 4:
      RoundTrip<Membership>(in, DecodeMembership, EncodeMembership);
      break;
  }
  return 0;
}
