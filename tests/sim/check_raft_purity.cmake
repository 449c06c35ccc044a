# Fails when a source under DIR includes or uses I/O, threads, sockets, the
# wall clock or nondeterministic randomness: the Raft core must stay a pure,
# deterministic state machine. Of src/base it may include only the pure,
# header-only pieces (DESIGN.md: raft depends on nothing but base, and not on
# its clock): the integer encodings of coding.h and the Status of status.h.
# usage: cmake -DDIR=<dir> -P check_raft_purity.cmake
file(GLOB_RECURSE files "${DIR}/*.h" "${DIR}/*.cc")
# The base headers the core may include are held to the same rules.
foreach(allowed coding.h status.h)
  if(EXISTS "${DIR}/../base/${allowed}")
    list(APPEND files "${DIR}/../base/${allowed}")
  endif()
endforeach()
if(NOT files)
  message(FATAL_ERROR "purity: no sources under ${DIR}")
endif()
set(forbidden
  "#[ \t]*include[ \t]*[<\"](asio|boost/asio)"
  "#[ \t]*include[ \t]*<(chrono|thread|mutex|shared_mutex|condition_variable|future|atomic|semaphore|stop_token)>"
  "#[ \t]*include[ \t]*<(fstream|filesystem|iostream|random|ctime|time\\.h|unistd\\.h|fcntl\\.h|poll\\.h)>"
  "#[ \t]*include[ \t]*<(sys/[a-z_]+\\.h|netinet/[a-z_]+\\.h|arpa/inet\\.h|netdb\\.h|pthread\\.h)>"
  "std::(chrono|thread|jthread|mutex|async|random_device|this_thread)"
  "[^a-z_](time|rand|srand|gettimeofday|clock_gettime|socket|fopen|open)[ \t]*\\(")
set(bad 0)
foreach(f ${files})
  file(STRINGS "${f}" lines)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    foreach(pattern ${forbidden})
      if(line MATCHES "${pattern}")
        message("${f}:${n}: forbidden in the Raft core: ${line}")
        set(bad 1)
      endif()
    endforeach()
    if(line MATCHES "#[ \t]*include[ \t]*\"base/" AND NOT line MATCHES "#[ \t]*include[ \t]*\"base/(coding|status)\\.h\"")
      message("${f}:${n}: forbidden in the Raft core: ${line}")
      set(bad 1)
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "purity: the Raft core must not do I/O, threads or read clocks")
endif()
list(LENGTH files count)
message("purity: ${count} files under ${DIR} are clean")
