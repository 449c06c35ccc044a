// GrayFaults: clock files for libfaketime, tmpfs data directories and their filler.
#include "up/gray_faults.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace nines::up {

namespace fs = std::filesystem;

namespace {

// Room left for this process on the file system holding `path`, or -1.
int64_t FreeBytes(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

bool IsMountPoint(const std::string& path) {
  std::ifstream in("/proc/mounts");
  std::string device, mount_point, rest;
  while (in >> device >> mount_point && std::getline(in, rest)) {
    if (mount_point == path) return true;
  }
  return false;
}

}  // namespace

GrayFaults::~GrayFaults() {
  Cleanup();
}

std::string GrayFaults::FindFaketimeLib() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib", ec)) {
    fs::path lib = entry.path() / "faketime" / "libfaketimeMT.so.1";
    if (fs::exists(lib, ec)) return lib.string();
  }
  return "";
}

int GrayFaults::UnmountDataDirs(const std::string& run_dir_arg) {
  if (geteuid() != 0 || run_dir_arg.empty()) return 0;
  std::error_code ec;
  std::string run_dir = fs::absolute(run_dir_arg, ec).lexically_normal().string();
  if (!run_dir.empty() && run_dir.back() == '/') run_dir.pop_back();
  std::vector<std::string> under;
  std::ifstream in("/proc/mounts");
  std::string device, mount_point, type, rest;
  while (in >> device >> mount_point >> type && std::getline(in, rest)) {
    if (type == "tmpfs" && mount_point.rfind(run_dir + "/data/", 0) == 0) {
      under.push_back(mount_point);
    }
  }
  // Deepest first.
  std::sort(under.begin(), under.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  int n = 0;
  for (const std::string& m : under) n += ::umount2(m.c_str(), MNT_DETACH) == 0;
  return n;
}

std::vector<std::string> GrayFaults::Enable(std::vector<NodeSpec>* nodes,
                                            const std::string& run_dir) {
  std::lock_guard lock(mu_);
  std::vector<std::string> notes;
  enabled_ = true;
  std::string lib = FindFaketimeLib();
  if (lib.empty()) {
    notes.push_back("gray faults: no libfaketime (apt install faketime): no clock faults");
  }
  bool root = geteuid() == 0;
  if (!root) notes.push_back("gray faults: not root: no tmpfs data directories, no disk faults");
  std::error_code ec;
  fs::create_directories(run_dir + "/clock", ec);
  fs::create_directories(run_dir + "/disk", ec);
  for (NodeSpec& n : *nodes) {
    if (n.kind != NodeKind::kStore) continue;
    Member m;
    // Absolute, as /proc/mounts names it.
    if (!n.data_dir.empty()) m.data_dir = fs::absolute(n.data_dir, ec).lexically_normal().string();
    if (!lib.empty()) {
      m.clock_file = fmt::format("{}/clock/{}", run_dir, n.name);
      if (!WriteClock(m, 0).ok()) {
        notes.push_back("gray faults: cannot write " + m.clock_file);
        m.clock_file.clear();
      } else {
        // The member's wall clock only: timers and timeouts run on the
        // monotonic clock, which a clock step does not move.
        n.env.push_back("LD_PRELOAD=" + lib);
        n.env.push_back("FAKETIME_TIMESTAMP_FILE=" + m.clock_file);
        n.env.push_back("FAKETIME_CACHE_DURATION=1");
        n.env.push_back("FAKETIME_DONT_FAKE_MONOTONIC=1");
      }
    }
    m.fsync_file = fmt::format("{}/disk/{}.fsync-delay-ms", run_dir, n.name);
    if (WriteFsyncDelay(m, 0).ok()) {
      n.env.push_back("NINES_FSYNC_DELAY_FILE=" + m.fsync_file);
    } else {
      notes.push_back("gray faults: cannot write " + m.fsync_file);
      m.fsync_file.clear();
    }
    if (root && !m.data_dir.empty()) {
      fs::create_directories(m.data_dir, ec);
      if (IsMountPoint(m.data_dir)) ::umount2(m.data_dir.c_str(), MNT_DETACH);
      std::string opts = fmt::format("size={},mode=0700", kDiskBytes);
      if (::mount("tmpfs", m.data_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0) {
        m.mounted = true;
      } else {
        notes.push_back(
            fmt::format("gray faults: mount tmpfs on {}: {}", m.data_dir, std::strerror(errno)));
      }
    }
    members_[n.name] = m;
  }
  return notes;
}

Status GrayFaults::WriteClock(const Member& m, int64_t offset_s) {
  // To a new file, then renamed: libfaketime never reads half a line.
  std::string tmp = m.clock_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << (offset_s < 0 ? "" : "+") << offset_s << "\n";
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, m.clock_file, ec);
  if (ec) return Status::IoError("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

Status GrayFaults::WriteFsyncDelay(const Member& m, int delay_ms) {
  std::string tmp = m.fsync_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << delay_ms << "\n";
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, m.fsync_file, ec);
  if (ec) return Status::IoError("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

Status GrayFaults::SlowDisk(const std::string& name, int delay_ms, int64_t for_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!enabled_) return Status::FailedPrecondition("disk faults need `nines up --gray-faults`");
  auto it = members_.find(name);
  if (it == members_.end()) {
    return Status::NotFound(fmt::format("'{}' is not a store member", name));
  }
  Member& m = it->second;
  if (m.fsync_file.empty()) return Status::FailedPrecondition("no fsync delay file");
  if (Status s = WriteFsyncDelay(m, delay_ms); !s.ok()) return s;
  m.fsync_delay_ms = delay_ms;
  m.fsync_until_ms = for_ms > 0 ? now_ms + for_ms : 0;
  return Status::Ok();
}

Status GrayFaults::FastDisk(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = members_.find(name);
  if (it == members_.end()) {
    return enabled_ ? Status::NotFound(fmt::format("'{}' is not a store member", name))
                    : Status::Ok();
  }
  Member& m = it->second;
  if (m.fsync_file.empty() || m.fsync_delay_ms == 0) return Status::Ok();
  if (Status s = WriteFsyncDelay(m, 0); !s.ok()) return s;
  m.fsync_delay_ms = 0;
  m.fsync_until_ms = 0;
  return Status::Ok();
}

void GrayFaults::RemoveFiller(const Member& m) {
  std::error_code ec;
  fs::remove(m.data_dir + "/" + kFillerName, ec);
}

Status GrayFaults::JumpClock(const std::string& name, int64_t offset_s, int64_t for_ms,
                             int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!enabled_) {
    return Status::FailedPrecondition("clock faults need `nines up --gray-faults`");
  }
  auto it = members_.find(name);
  if (it == members_.end()) {
    return Status::NotFound(fmt::format("'{}' is not a store member", name));
  }
  Member& m = it->second;
  if (m.clock_file.empty()) {
    return Status::FailedPrecondition(
        "clock faults need libfaketime (apt install faketime) when nines up starts");
  }
  if (Status s = WriteClock(m, offset_s); !s.ok()) return s;
  m.offset_s = offset_s;
  m.clock_until_ms = for_ms > 0 ? now_ms + for_ms : 0;
  return Status::Ok();
}

Status GrayFaults::ResetClock(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = members_.find(name);
  if (it == members_.end()) {
    return enabled_ ? Status::NotFound(fmt::format("'{}' is not a store member", name))
                    : Status::Ok();
  }
  Member& m = it->second;
  if (m.clock_file.empty() || m.offset_s == 0) return Status::Ok();
  if (Status s = WriteClock(m, 0); !s.ok()) return s;
  m.offset_s = 0;
  m.clock_until_ms = 0;
  return Status::Ok();
}

Status GrayFaults::FillDisk(const std::string& name, int64_t for_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!enabled_) return Status::FailedPrecondition("disk faults need `nines up --gray-faults`");
  auto it = members_.find(name);
  if (it == members_.end()) {
    return Status::NotFound(fmt::format("'{}' is not a store member", name));
  }
  Member& m = it->second;
  if (!m.mounted) {
    return Status::FailedPrecondition(
        "disk faults need the member's data directory on a tmpfs of its own: run nines up as "
        "root");
  }
  int64_t free_bytes = FreeBytes(m.data_dir);
  if (free_bytes < 0) return Status::IoError("statvfs " + m.data_dir + ": " + strerror(errno));
  int64_t fill = free_bytes - static_cast<int64_t>(kLeaveFreeBytes);
  std::string path = m.data_dir + "/" + kFillerName;
  if (fill > 0) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IoError("open " + path + ": " + strerror(errno));
    struct stat st {};
    off_t at = ::fstat(fd, &st) == 0 ? st.st_size : 0;
    int rc = ::fallocate(fd, 0, at, fill);
    ::close(fd);
    if (rc != 0) {
      RemoveFiller(m);
      return Status::IoError("fallocate " + path + ": " + strerror(errno));
    }
  }
  m.filled = true;
  m.disk_until_ms = for_ms > 0 ? now_ms + for_ms : 0;
  return Status::Ok();
}

Status GrayFaults::FreeDisk(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = members_.find(name);
  if (it == members_.end()) {
    return enabled_ ? Status::NotFound(fmt::format("'{}' is not a store member", name))
                    : Status::Ok();
  }
  RemoveFiller(it->second);
  it->second.filled = false;
  it->second.disk_until_ms = 0;
  return Status::Ok();
}

std::vector<std::string> GrayFaults::Tick(int64_t now_ms) {
  std::lock_guard lock(mu_);
  std::vector<std::string> ended;
  for (auto& [name, m] : members_) {
    if (m.offset_s != 0 && m.clock_until_ms > 0 && now_ms >= m.clock_until_ms) {
      if (WriteClock(m, 0).ok()) {
        m.offset_s = 0;
        m.clock_until_ms = 0;
        ended.push_back(name + ": clock back (its window is over)");
      }
    }
    if (m.fsync_delay_ms != 0 && m.fsync_until_ms > 0 && now_ms >= m.fsync_until_ms) {
      if (WriteFsyncDelay(m, 0).ok()) {
        m.fsync_delay_ms = 0;
        m.fsync_until_ms = 0;
        ended.push_back(name + ": disk fast again (its window is over)");
      }
    }
    if (m.filled && m.disk_until_ms > 0 && now_ms >= m.disk_until_ms) {
      RemoveFiller(m);
      m.filled = false;
      m.disk_until_ms = 0;
      ended.push_back(name + ": disk freed (its window is over)");
    }
  }
  return ended;
}

void GrayFaults::Cleanup() {
  std::lock_guard lock(mu_);
  for (auto& [name, m] : members_) {
    if (!m.clock_file.empty() && m.offset_s != 0 && WriteClock(m, 0).ok()) m.offset_s = 0;
    if (!m.fsync_file.empty() && m.fsync_delay_ms != 0 && WriteFsyncDelay(m, 0).ok()) {
      m.fsync_delay_ms = 0;
    }
    if (m.mounted) {
      RemoveFiller(m);
      if (::umount2(m.data_dir.c_str(), 0) != 0) ::umount2(m.data_dir.c_str(), MNT_DETACH);
      m.mounted = false;
    }
    m.filled = false;
  }
}

GrayFaults::View GrayFaults::Of(const std::string& name) const {
  std::lock_guard lock(mu_);
  View v;
  auto it = members_.find(name);
  if (it == members_.end()) return v;
  v.clock_offset_s = it->second.offset_s;
  v.disk_filled = it->second.filled;
  v.fsync_delay_ms = it->second.fsync_delay_ms;
  v.clock = !it->second.clock_file.empty();
  v.disk = it->second.mounted;
  return v;
}

}  // namespace nines::up
