// The store's only door to the disk: an append-only File and a FileSystem
// with the few operations the WAL and snapshots need. Tests swap in a
// FaultyFileSystem that injects ENOSPC/EIO and loses unsynced data on "crash".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace nines::store {

// A file open for appending. Append either writes everything or returns an
// error (the file may then hold a partial write; the WAL treats it as dead).
class File {
 public:
  virtual ~File() = default;
  virtual Status Append(std::string_view data) = 0;
  // Makes every appended byte durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes in the file: the size at open plus everything appended since.
  virtual uint64_t Size() const = 0;
};

// A file open for reading pieces at any offset (a snapshot streamed to a
// follower, without loading it whole).
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads exactly n bytes at offset into *out; a shorter file is an error.
  virtual Status ReadAt(uint64_t offset, size_t n, std::string* out) = 0;
  virtual uint64_t Size() const = 0;
};

// The size of the file system holding a path and the room left in it for
// this process (statvfs: f_blocks and f_bavail).
struct DiskSpace {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates path (truncating an existing file) for appending.
  virtual Status Create(const std::string& path, std::unique_ptr<File>* file) = 0;
  // Opens an existing path for appending after its current contents.
  virtual Status OpenAppend(const std::string& path, std::unique_ptr<File>* file) = 0;
  // Reads the whole file; a file larger than max_bytes is an error.
  virtual Status ReadAll(const std::string& path, uint64_t max_bytes, std::string* contents) = 0;
  // Opens path for reading pieces. The real file system reads on demand
  // (pread; the open file stays readable if its name is removed); this
  // default, for test file systems, reads the whole file at once.
  virtual Status OpenRead(const std::string& path, std::unique_ptr<ReadableFile>* file);
  // Names (not paths) of the entries of dir, unsorted, without "." and "..".
  virtual Status List(const std::string& dir, std::vector<std::string>* names) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Cuts path to size bytes and makes that durable.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Makes creations, renames and removals in dir durable (fsync on the directory).
  virtual Status SyncDir(const std::string& dir) = 0;
  // mkdir -p; each directory it creates is made durable (its parent is synced).
  virtual Status CreateDirs(const std::string& dir) = 0;
  // Size and free room of the file system holding path (an existing path).
  virtual Status Space(const std::string& path, DiskSpace* space) = 0;
};

// The real file system (POSIX calls). Process-wide, never destroyed.
FileSystem* PosixFileSystem();

// "dir/name", tolerating a trailing slash on dir.
std::string JoinPath(const std::string& dir, std::string_view name);

}  // namespace nines::store
