// `nines up` run by the drill as a child process (the same binary,
// /proc/self/exe), its output in a log file, stopped by PID with SIGINT and,
// past a deadline, SIGKILL.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace nines::drill {

class UpChild {
 public:
  UpChild() = default;
  ~UpChild();  // stops the child if still running
  UpChild(const UpChild&) = delete;
  UpChild& operator=(const UpChild&) = delete;

  // Starts `nines up --fresh --dir RUN_DIR [--gray-faults] [blueprint]`;
  // IoError if it cannot be started.
  Status Start(const std::string& run_dir, const std::string& blueprint,
               const std::string& log_path, bool gray_faults = false);
  bool Running();
  // SIGINT, wait up to timeout_ms, then SIGKILL. Returns the exit status or -1.
  int Stop(int timeout_ms);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

}  // namespace nines::drill
