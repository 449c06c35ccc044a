// The chaos run's members: configs, processes, the clock files and the small disk.
#include "cluster.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/http_client.h"
#include "support/wait.h"

namespace nines::chaos {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSmallDiskBytes = 48ull << 20;

std::string FindFaketimeLib() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib", ec)) {
    fs::path lib = entry.path() / "faketime" / "libfaketimeMT.so.1";
    if (fs::exists(lib, ec)) return lib.string();
  }
  return "";
}

bool IsMountPoint(const std::string& path) {
  std::ifstream in("/proc/mounts");
  std::string device, mount_point, rest;
  while (in >> device >> mount_point && std::getline(in, rest)) {
    if (mount_point == path) return true;
  }
  return false;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  fs::path dir = fs::absolute(options_.dir);
  options_.dir = dir.string();
  // Leftovers of a run that was killed: its members (by the PIDs it wrote,
  // if they still run from this directory) and its mount.
  std::ifstream pids(dir / "pids");
  for (pid_t pid = 0; pids >> pid;) {
    if (pid > 0 &&
        ReadAll(fmt::format("/proc/{}/cmdline", pid)).find(options_.dir) != std::string::npos) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
    }
  }
  members_.resize(3);
  for (size_t i = 0; i < members_.size(); ++i) {
    MemberInfo& m = members_[i];
    m.id = fmt::format("s{}", i + 1);
    m.host = fmt::format("127.0.{}.{}", options_.net, i + 1);
    m.data_dir = (dir / m.id).string();
    if (IsMountPoint(m.data_dir)) ::umount2(m.data_dir.c_str(), MNT_DETACH);
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  if (options_.faketime) {
    faketime_lib_ = FindFaketimeLib();
    if (faketime_lib_.empty())
      notes_.push_back("no libfaketime (apt install faketime): no clock jumps");
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    MemberInfo& m = members_[i];
    m.config = (dir / (m.id + ".toml")).string();
    m.clock_file = (dir / (m.id + ".clock")).string();
    fs::create_directories(m.data_dir);
    SetClockOffset(i, 0);
  }
  if (options_.small_disk) {
    const std::string& path = members_.back().data_dir;
    std::string opts = fmt::format("size={}", kSmallDiskBytes);
    if (::geteuid() != 0) {
      notes_.push_back("not root: no small disk (tmpfs), no full-disk faults");
    } else if (::mount("tmpfs", path.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      notes_.push_back(fmt::format("mount tmpfs on {} failed: {}", path, std::strerror(errno)));
    } else {
      mounted_ = true;
    }
  }
  for (size_t i = 0; i < members_.size(); ++i) WriteConfig(i);
  processes_.resize(members_.size());
  killed_.assign(members_.size(), false);
}

Cluster::~Cluster() {
  Shutdown();
}

void Cluster::WriteConfig(size_t i) {
  const MemberInfo& m = members_[i];
  auto addr = [](const MemberInfo& x, int port) { return fmt::format("{}:{}", x.host, port); };
  std::string text = fmt::format(
      "id = \"{}\"\ndata_dir = \"{}\"\nclient = \"{}\"\nhttp = \"{}\"\npeer = \"{}\"\n"
      "heartbeat_ms = 50\nelection_ms = 400\nrequest_timeout_ms = 1500\n"
      "snapshot_entries = 1000\n",
      m.id, m.data_dir, addr(m, m.client), addr(m, m.http), addr(m, m.peer));
  for (const MemberInfo& o : members_) {
    text += fmt::format("[[member]]\nid = \"{}\"\npeer = \"{}\"\nclient = \"{}\"\nhttp = \"{}\"\n",
                        o.id, addr(o, o.peer), addr(o, o.client), addr(o, o.http));
  }
  test::WriteFile(m.config, text);
}

void Cluster::Start(size_t i) {
  const MemberInfo& m = members_[i];
  std::vector<std::string> argv;
  if (!faketime_lib_.empty()) {
    // env(1) execs nines: the PID stays the member's own.
    argv = {"/usr/bin/env", "LD_PRELOAD=" + faketime_lib_,
            "FAKETIME_TIMESTAMP_FILE=" + m.clock_file, "FAKETIME_CACHE_DURATION=1",
            "FAKETIME_DONT_FAKE_MONOTONIC=1"};
  }
  for (const std::string& a :
       {options_.nines, std::string("store"), std::string("--config"), m.config}) {
    argv.push_back(a);
  }
  processes_[i] = test::ChildProcess(argv, fs::path(options_.dir) / (m.id + ".log"));
  killed_[i] = false;
  std::ofstream pids(fs::path(options_.dir) / "pids", std::ios::app);
  pids << processes_[i].pid() << "\n";
}

void Cluster::StartAll() {
  for (size_t i = 0; i < members_.size(); ++i) Start(i);
}

void Cluster::Kill(size_t i) {
  killed_[i] = true;
  processes_[i].Stop(SIGKILL, 5000);
}

void Cluster::Pause(size_t i) {
  processes_[i].Signal(SIGSTOP);
}

void Cluster::Resume(size_t i) {
  processes_[i].Signal(SIGCONT);
}

bool Cluster::Running(size_t i) {
  return processes_[i].running();
}

int Cluster::RestartStopped() {
  int exited = 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (processes_[i].running()) continue;
    if (!killed_[i]) ++exited;
    Start(i);
  }
  return exited;
}

void Cluster::SetClockOffset(size_t i, int64_t seconds) {
  // Written to a new file and renamed: libfaketime never reads half a line.
  std::string tmp = members_[i].clock_file + ".tmp";
  test::WriteFile(tmp, fmt::format("{}{}\n", seconds < 0 ? "" : "+", seconds));
  fs::rename(tmp, members_[i].clock_file);
}

bool Cluster::FillDisk() {
  if (!mounted_) return false;
  std::string path = members_.back().data_dir + "/filler";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::string chunk(1 << 20, 'x');
  for (int n = 0; n < 1024; ++n) {  // bounded: the disk is 48 MiB
    if (::write(fd, chunk.data(), chunk.size()) <= 0) break;
  }
  for (size_t size = 4096; size >= 1; size /= 2) {  // the last few KiB too
    while (::write(fd, chunk.data(), size) > 0) {
    }
    if (size == 1) break;
  }
  ::close(fd);
  return true;
}

void Cluster::FreeDisk() {
  if (!mounted_) return;
  std::error_code ec;
  fs::remove(members_.back().data_dir + "/filler", ec);
}

std::optional<nlohmann::json> Cluster::Status(size_t i, int timeout_ms) {
  const MemberInfo& m = members_[i];
  test::HttpResult r = test::HttpGet(m.host, m.http, "/status", "", timeout_ms);
  if (!r.ok || r.status != 200) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

int Cluster::Leader() {
  for (size_t i = 0; i < members_.size(); ++i) {
    auto s = Status(i, 300);
    if (s && (*s)["role"] == "leader") return static_cast<int>(i);
  }
  return -1;
}

int Cluster::WaitLeader(int timeout_ms) {
  int leader = -1;
  test::WaitUntil([&] { return (leader = Leader()) >= 0; }, timeout_ms, 50);
  return leader;
}

void Cluster::Unmount() {
  if (!mounted_) return;
  if (::umount2(members_.back().data_dir.c_str(), 0) != 0) {
    ::umount2(members_.back().data_dir.c_str(), MNT_DETACH);
  }
  mounted_ = false;
}

void Cluster::Shutdown() {
  for (size_t i = 0; i < processes_.size(); ++i) {
    if (processes_[i].running()) processes_[i].Stop(SIGKILL, 5000);
  }
  Unmount();
}

}  // namespace nines::chaos
