// The run directory's marker and the deletion --fresh is allowed to do.
#include "up/run_dir.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

namespace nines::up {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOwnedEntries[] = {"conf", "logs", "data", "up.pid"};

bool EmptyDir(const std::string& dir) {
  std::error_code ec;
  return fs::is_empty(dir, ec) && !ec;
}

}  // namespace

bool IsNinesRunDir(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(dir + "/" + kRunDirMarker, ec));
}

Status PrepareRunDir(const std::string& dir) {
  std::error_code ec;
  bool mark = !fs::exists(dir, ec) || EmptyDir(dir) || IsNinesRunDir(dir);
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot create {}: {}", dir, ec.message()));
  if (mark && !IsNinesRunDir(dir)) {
    std::ofstream out(dir + "/" + kRunDirMarker, std::ios::trunc);
    out << "This directory was made by `nines up`. `nines up --fresh` deletes conf/, logs/,\n"
           "data/ and up.pid here (and nothing else); without this file it refuses.\n";
    if (!out) return Status::IoError(fmt::format("cannot write {}/{}", dir, kRunDirMarker));
  }
  for (const char* sub : {"conf", "logs", "data"}) {
    fs::create_directories(dir + "/" + sub, ec);
    if (ec) return Status::IoError(fmt::format("cannot create {}/{}: {}", dir, sub, ec.message()));
  }
  return Status::Ok();
}

Status WipeRunDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec) || EmptyDir(dir)) return Status::Ok();
  if (!fs::is_directory(dir, ec)) {
    return Status::InvalidArgument(fmt::format("--fresh: {} is not a directory", dir));
  }
  if (!IsNinesRunDir(dir)) {
    return Status::InvalidArgument(fmt::format(
        "--fresh: refusing to delete anything in {}: it has no {} marker, so nines up did not "
        "make it; pick another --dir, or delete its conf/, logs/ and data/ yourself",
        dir, kRunDirMarker));
  }
  for (const char* entry : kOwnedEntries) {
    // remove_all does not follow symbolic links: a linked conf/ loses the link only.
    fs::remove_all(dir + "/" + entry, ec);
    if (ec) {
      return Status::IoError(
          fmt::format("--fresh: cannot delete {}/{}: {}", dir, entry, ec.message()));
    }
  }
  return Status::Ok();
}

}  // namespace nines::up
