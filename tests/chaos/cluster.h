// Three real `nines store` members for the chaos run, on 127.0.NET.1/.2/.3
// (distinct addresses, so iptables rules can tell them apart), each in its own
// directory, started with libfaketime preloaded (wall clock only, offset read
// from a file the nemesis rewrites), the last one with its data directory on
// a small tmpfs the nemesis can fill. Stops what it started, by PID, and
// unmounts what it mounted.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "support/process.h"

namespace nines::chaos {

struct ClusterOptions {
  std::string nines;  // path of the nines binary
  std::string dir;    // run directory (wiped first)
  int net = 201;      // members on 127.0.NET.1..3
  bool faketime = true;
  bool small_disk = true;  // tmpfs data dir for the last member (needs root)
};

struct MemberInfo {
  std::string id;
  std::string host;
  int client = 16380;
  int http = 17380;
  int peer = 18380;
  std::string config;
  std::string clock_file;  // libfaketime's FAKETIME_TIMESTAMP_FILE
  std::string data_dir;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  size_t size() const { return members_.size(); }
  const MemberInfo& member(size_t i) const { return members_[i]; }
  // What the run could not set up (no libfaketime, not root, ...), for the report.
  const std::vector<std::string>& notes() const { return notes_; }
  bool has_clock() const { return !faketime_lib_.empty(); }
  bool has_small_disk() const { return mounted_; }
  size_t small_disk_member() const { return members_.size() - 1; }

  void Start(size_t i);
  void StartAll();
  void Kill(size_t i);    // SIGKILL
  void Pause(size_t i);   // SIGSTOP
  void Resume(size_t i);  // SIGCONT
  bool Running(size_t i);
  // Restarts members that are not running; returns how many had exited on
  // their own (not killed by the nemesis).
  int RestartStopped();
  // Wall-clock offset of member i in seconds (0 = true time).
  void SetClockOffset(size_t i, int64_t seconds);
  // Fills the small disk's free space; FreeDisk removes the filler.
  bool FillDisk();
  void FreeDisk();

  std::optional<nlohmann::json> Status(size_t i, int timeout_ms = 500);
  // Index of the member that says it is leader, or -1.
  int Leader();
  // Waits until a leader is known; -1 when none came within timeout_ms.
  int WaitLeader(int timeout_ms);
  // Stops every member (SIGCONT, then SIGKILL), unmounts the small disk.
  void Shutdown();

 private:
  void WriteConfig(size_t i);
  void Unmount();

  ClusterOptions options_;
  std::vector<MemberInfo> members_;
  std::vector<test::ChildProcess> processes_;
  std::vector<bool> killed_;  // stopped on purpose since the last start
  std::vector<std::string> notes_;
  std::string faketime_lib_;
  bool mounted_ = false;
};

}  // namespace nines::chaos
