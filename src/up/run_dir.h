// The run directory of `nines up`: a marker file records that nines up made
// the directory, and --fresh deletes only what nines up writes there (conf/,
// logs/, data/, up.pid), and only in a marked directory.
#pragma once

#include <string>

#include "base/status.h"

namespace nines::up {

inline constexpr const char* kRunDirMarker = ".nines-up-run";

// True if `dir` carries the marker nines up writes.
bool IsNinesRunDir(const std::string& dir);

// Creates `dir` with conf/, logs/ and data/. The marker is written when the
// directory is new or empty (or already marked), never into a directory that
// held other files.
Status PrepareRunDir(const std::string& dir);

// --fresh: removes conf/, logs/, data/ and up.pid from a marked `dir` (a
// directory that does not exist or is empty needs nothing). Any other
// directory is refused (InvalidArgument) and nothing is deleted.
Status WipeRunDir(const std::string& dir);

}  // namespace nines::up
