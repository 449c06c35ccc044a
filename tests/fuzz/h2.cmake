# Fuzz target of the HTTP/2 server session (src/http/h2_session.h).
nines_fuzz_target(fuzz_h2_session ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_h2_session.cc nines_http_h2)
