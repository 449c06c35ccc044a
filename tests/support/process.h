// Child processes for integration tests: started with posix_spawn, output
// to a log file, stopped by PID (SIGKILL on destruction if still running).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace nines::test {

class ChildProcess {
 public:
  ChildProcess() = default;
  // Starts argv[0] with argv; stdout and stderr go to `log_path`.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // Sends `sig` and waits up to timeout_ms for exit; returns the exit status
  // (or 128+signal), or -1 on timeout.
  int Stop(int sig, int timeout_ms);
  // Waits for exit; -1 on timeout.
  int Wait(int timeout_ms);
  std::string Log() const;
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

// The `nines` binary under test (NINES_BIN), and the test backend beside it.
std::string NinesBinary();
std::string TestBackendBinary();
// A fresh directory for a test's files under the build tree.
std::string TestDir(const std::string& name);
void WriteFile(const std::string& path, const std::string& text);

}  // namespace nines::test
