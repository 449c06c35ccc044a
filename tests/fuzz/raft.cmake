# Fuzz target for the Raft wire/disk codec (peer input is untrusted).
nines_fuzz_target(fuzz_raft_codec ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_raft_codec.cc nines_raft)
