// Gray faults on the store members, for `nines up --gray-faults`: a member's
// wall clock jumps (libfaketime preloaded, its offset read from a clock file
// of the member's own every second, the monotonic clock left alone as an NTP
// step leaves it), its disk fills (as root, its data directory is a tmpfs
// of its own, kDiskBytes, filled by a file up to kLeaveFreeBytes short of
// full) and its disk slows (every fsync waits the milliseconds a file of
// the member's own holds: NINES_FSYNC_DELAY_FILE, src/store/file.cc). Each fault ends by itself
// after its for_ms (Tick), and everything is undone at exit (Cleanup); a killed `nines up`'s tmpfs
// mounts are unmounted at the next start (UnmountDataDirs). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "up/topology.h"

namespace nines::up {

class GrayFaults {
 public:
  static constexpr uint64_t kDiskBytes = 128ull << 20;
  // Left free when filling: under every member's NOSPACE reserve (two WAL
  // segments of a sixteenth of the disk), so the alarm is raised before a
  // write can fail with ENOSPC.
  static constexpr uint64_t kLeaveFreeBytes = 1ull << 20;
  static constexpr int64_t kMaxForMs = 3600 * 1000;
  static constexpr int64_t kMaxOffsetS = 366LL * 24 * 3600;
  static constexpr const char* kFillerName = "gray-fault-filler";
  static constexpr int kMaxFsyncDelayMs = 10000;

  GrayFaults() = default;
  ~GrayFaults();
  GrayFaults(const GrayFaults&) = delete;
  GrayFaults& operator=(const GrayFaults&) = delete;

  // Sets up the store members of `nodes`: adds libfaketime to their
  // environment and writes their clock files ("+0"), and as root mounts a
  // tmpfs on each data directory. Returns what could not be set up (no
  // libfaketime, not root, a mount that failed), for the log.
  std::vector<std::string> Enable(std::vector<NodeSpec>* nodes, const std::string& run_dir);

  // Each returns Ok, NotFound (not a store member), FailedPrecondition (not
  // enabled, or what the fault needs is missing) or IoError.
  Status JumpClock(const std::string& name, int64_t offset_s, int64_t for_ms, int64_t now_ms);
  Status ResetClock(const std::string& name);  // Ok when there is nothing to undo
  Status FillDisk(const std::string& name, int64_t for_ms, int64_t now_ms);
  Status FreeDisk(const std::string& name);  // Ok when there is nothing to undo
  Status SlowDisk(const std::string& name, int delay_ms, int64_t for_ms, int64_t now_ms);
  Status FastDisk(const std::string& name);  // Ok when there is nothing to undo

  // Ends the faults whose for_ms is over; returns a line for each, for the events.
  std::vector<std::string> Tick(int64_t now_ms);
  // Resets every clock, removes every filler and unmounts every tmpfs.
  void Cleanup();

  // For /api/state: the member's clock offset (s) and whether its disk is filled.
  struct View {
    int64_t clock_offset_s = 0;
    bool disk_filled = false;
    int fsync_delay_ms = 0;
    bool clock = false;  // the clock fault can be injected
    bool disk = false;   // the disk fault can be injected
  };
  View Of(const std::string& name) const;

  // Unmounts (lazily) every tmpfs under RUN/data/: what a `nines up
  // --gray-faults` killed with SIGKILL left mounted. Root only; returns how many.
  static int UnmountDataDirs(const std::string& run_dir);
  // libfaketimeMT.so.1 from Debian's libfaketime, or "".
  static std::string FindFaketimeLib();

 private:
  struct Member {
    std::string clock_file;  // "" without libfaketime
    std::string data_dir;
    bool mounted = false;
    int64_t offset_s = 0;
    int64_t clock_until_ms = 0;  // 0: until reset
    bool filled = false;
    int64_t disk_until_ms = 0;
    std::string fsync_file;  // NINES_FSYNC_DELAY_FILE
    int fsync_delay_ms = 0;
    int64_t fsync_until_ms = 0;
  };
  Status WriteClock(const Member& m, int64_t offset_s);
  static Status WriteFsyncDelay(const Member& m, int delay_ms);
  void RemoveFiller(const Member& m);

  mutable std::mutex mu_;
  bool enabled_ = false;
  std::map<std::string, Member> members_;
};

}  // namespace nines::up
