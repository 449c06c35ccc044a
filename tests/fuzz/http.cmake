# Fuzz targets of the HTTP parser (src/http/parser.h).
nines_fuzz_target(fuzz_http_request ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_http_request.cc nines_http_parser)
nines_fuzz_target(fuzz_http_response ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_http_response.cc nines_http_parser)
