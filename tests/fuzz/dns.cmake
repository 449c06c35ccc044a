# dns: the query parser and responder, fed arbitrary packets.
nines_fuzz_target(fuzz_dns_message ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_dns_message.cc nines_dns_answer)
