// POSIX implementation of File and FileSystem: write(2) loops, fdatasync,
// fsync on directories, and errno turned into a Status naming the path; and
// the slow disk of the drill's slow-disk fault (NINES_FSYNC_DELAY_FILE).
#include "store/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

namespace nines::store {
namespace {

// A slow disk on demand (docs/up.md "Gray faults"): when the environment
// names NINES_FSYNC_DELAY_FILE (`nines up --gray-faults` does, for store
// members), every fdatasync and fsync first waits the milliseconds that file
// holds (missing, empty or 0: no wait; at most 10 s), read again at most
// every 100 ms. Without the variable this costs one pointer test.
void SlowDiskWait() {
  static const char* const path = std::getenv("NINES_FSYNC_DELAY_FILE");
  if (path == nullptr) return;
  static std::mutex mu;
  static std::chrono::steady_clock::time_point next_read;
  static int64_t delay_ms = 0;
  int64_t wait_ms = 0;
  {
    std::lock_guard lock(mu);
    auto now = std::chrono::steady_clock::now();
    if (now >= next_read) {
      next_read = now + std::chrono::milliseconds(100);
      std::ifstream in(path);
      int64_t ms = 0;
      delay_ms = in >> ms && ms > 0 ? std::min<int64_t>(ms, 10000) : 0;
    }
    wait_ms = delay_ms;
  }
  if (wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
}

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  std::string message = what + " " + path + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(message);
  if (err == ENOENT) return Status::NotFound(message);
  return Status::IoError(message);
}

class PosixFile : public File {
 public:
  PosixFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::IoError("append to closed file " + path_);
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      size_ += static_cast<uint64_t>(n);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (fd_ < 0) return Status::IoError("sync of closed file " + path_);
    SlowDiskWait();
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return ErrnoStatus("close", path_, errno);
    return Status::Ok();
  }

  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixReadableFile : public ReadableFile {
 public:
  PosixReadableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixReadableFile() override { ::close(fd_); }
  PosixReadableFile(const PosixReadableFile&) = delete;
  PosixReadableFile& operator=(const PosixReadableFile&) = delete;

  Status ReadAt(uint64_t offset, size_t n, std::string* out) override {
    out->resize(n);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out->data() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return ErrnoStatus("read", path_, errno);
      if (r == 0) return Status::Corruption(path_ + ": shorter than expected");
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }
  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

// ReadableFile over bytes read at open (FileSystem::OpenRead's default).
class StringReadableFile : public ReadableFile {
 public:
  explicit StringReadableFile(std::string bytes) : bytes_(std::move(bytes)) {}
  Status ReadAt(uint64_t offset, size_t n, std::string* out) override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) {
      return Status::Corruption("read past the end of the file");
    }
    out->assign(bytes_, offset, n);
    return Status::Ok();
  }
  uint64_t Size() const override { return bytes_.size(); }

 private:
  std::string bytes_;
};

class Posix : public FileSystem {
 public:
  Status OpenRead(const std::string& path, std::unique_ptr<ReadableFile>* file) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("stat", path, err);
    }
    *file = std::make_unique<PosixReadableFile>(path, fd, static_cast<uint64_t>(st.st_size));
    return Status::Ok();
  }

  Status Create(const std::string& path, std::unique_ptr<File>* file) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("create", path, errno);
    *file = std::make_unique<PosixFile>(path, fd, 0);
    return Status::Ok();
  }

  Status OpenAppend(const std::string& path, std::unique_ptr<File>* file) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("stat", path, err);
    }
    *file = std::make_unique<PosixFile>(path, fd, static_cast<uint64_t>(st.st_size));
    return Status::Ok();
  }

  Status ReadAll(const std::string& path, uint64_t max_bytes, std::string* contents) override {
    contents->clear();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("stat", path, err);
    }
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      ::close(fd);
      return Status::Corruption(path + ": file is " + std::to_string(st.st_size) +
                                " bytes, more than the limit of " + std::to_string(max_bytes));
    }
    contents->resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < contents->size()) {
      ssize_t n = ::read(fd, contents->data() + done, contents->size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return ErrnoStatus("read", path, err);
      }
      if (n == 0) break;  // shrank meanwhile
      done += static_cast<size_t>(n);
    }
    contents->resize(done);
    ::close(fd);
    return Status::Ok();
  }

  Status List(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoStatus("opendir", dir, errno);
    while (struct dirent* entry = ::readdir(d)) {
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      names->emplace_back(name);
    }
    ::closedir(d);
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from, errno);
    return Status::Ok();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    Status status;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      status = ErrnoStatus("ftruncate", path, errno);
    } else {
      SlowDiskWait();
      if (::fsync(fd) != 0) status = ErrnoStatus("fsync", path, errno);
    }
    ::close(fd);
    return status;
  }

  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", dir, errno);
    Status status;
    SlowDiskWait();
    if (::fsync(fd) != 0) status = ErrnoStatus("fsync", dir, errno);
    ::close(fd);
    return status;
  }

  Status CreateDirs(const std::string& dir) override {
    if (dir.empty()) return Status::Ok();
    std::string partial;
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = dir.find('/', pos + 1);
      partial = dir.substr(0, pos);
      if (partial.empty()) continue;
      if (::mkdir(partial.c_str(), 0755) == 0) {
        // The new entry is durable only once the directory holding it is synced.
        size_t slash = partial.rfind('/');
        std::string parent = slash == std::string::npos ? "." : partial.substr(0, slash);
        Status status = SyncDir(parent.empty() ? "/" : parent);
        if (!status.ok()) return status;
      } else if (errno != EEXIST) {
        return ErrnoStatus("mkdir", partial, errno);
      }
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("stat", dir, errno);
    if (!S_ISDIR(st.st_mode)) return Status::IoError(dir + " is not a directory");
    return Status::Ok();
  }
  Status Space(const std::string& path, DiskSpace* space) override {
    struct statvfs vfs;
    if (::statvfs(path.c_str(), &vfs) != 0) return ErrnoStatus("statvfs", path, errno);
    space->total_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    space->free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    return Status::Ok();
  }
};

}  // namespace

Status FileSystem::OpenRead(const std::string& path, std::unique_ptr<ReadableFile>* file) {
  std::string bytes;
  Status s = ReadAll(path, ~0ull, &bytes);
  if (!s.ok()) return s;
  *file = std::make_unique<StringReadableFile>(std::move(bytes));
  return Status::Ok();
}

FileSystem* PosixFileSystem() {
  static Posix* fs = new Posix();
  return fs;
}

std::string JoinPath(const std::string& dir, std::string_view name) {
  std::string path = dir;
  if (!path.empty() && path.back() != '/') path += '/';
  path += name;
  return path;
}

}  // namespace nines::store
