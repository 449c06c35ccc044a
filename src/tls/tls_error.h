// Errors from OpenSSL as std::error_code (category "tls"), and the text of
// the calling thread's OpenSSL error queue, which every failure path clears.
#pragma once

#include <string>
#include <system_error>

namespace nines::tls {

const std::error_category& TlsCategory();

// Takes the oldest error off this thread's OpenSSL error queue as an
// error_code, clearing the rest of the queue. A zero code if the queue was
// empty (the caller then picks a generic one).
std::error_code TakeError();

// The whole error queue as text ("error:0A000086:SSL routines::certificate
// verify failed; ..."), cleared; `fallback` when it is empty.
std::string TakeErrorText(const std::string& fallback = "unknown OpenSSL error");

}  // namespace nines::tls
