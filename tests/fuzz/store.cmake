# Fuzz targets of the store: the RESP2 request parser (untrusted client input).
nines_fuzz_target(fuzz_resp_parser ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_resp_parser.cc nines_store_core)
# The request path without Raft: parser, command table, state machine.
nines_fuzz_target(fuzz_resp_commands ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_resp_commands.cc nines_store_core)
