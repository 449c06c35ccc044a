// An order the service acknowledged, as the read-back needs it: its id and a
// fingerprint of the body the service answered with, so reading it back
// checks what is stored, not only that something answers 200.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nines::drill {

struct AcknowledgedWrite {
  std::string id;
  uint64_t body_fingerprint = 0;
};

// FNV-1a 64 of the body as canonical JSON (keys sorted, no spaces), so two
// serializations of the same object agree; of the raw bytes if not JSON.
uint64_t BodyFingerprint(std::string_view body);

}  // namespace nines::drill
