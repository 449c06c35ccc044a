# Fuzz targets of the app: the RESP2 reply parser (bytes from store members).
nines_fuzz_target(fuzz_resp_reply ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_resp_reply.cc nines_app_core)
