# A seed must replay exactly: two traced runs of one seed print the same trace.
# usage: cmake -DSIM=<nines_sim> -DSEED=<n> -P check_replay.cmake
foreach(run 1 2)
  execute_process(COMMAND ${SIM} --seed ${SEED} --trace OUTPUT_VARIABLE out${run}
                  RESULT_VARIABLE rc${run})
  if(NOT rc${run} EQUAL 0)
    message(FATAL_ERROR "replay: seed ${SEED} failed (exit ${rc${run}})")
  endif()
endforeach()
string(LENGTH "${out1}" len)
if(len LESS 1000)
  message(FATAL_ERROR "replay: trace of seed ${SEED} is suspiciously short")
endif()
if(NOT out1 STREQUAL out2)
  message(FATAL_ERROR "replay: seed ${SEED} produced two different traces")
endif()
message("replay: seed ${SEED} traced twice identically (${len} bytes)")
