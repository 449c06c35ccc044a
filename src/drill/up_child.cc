// UpChild: posix_spawn with stdout/stderr to the log file.
#include "drill/up_child.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

extern char** environ;

namespace nines::drill {

UpChild::~UpChild() {
  Stop(20000);
}

Status UpChild::Start(const std::string& run_dir, const std::string& blueprint,
                      const std::string& log_path, bool gray_faults) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return Status::IoError(std::string("cannot find my own binary: ") + std::strerror(errno));
  self[n] = '\0';
  // --exit-with-parent: a drill killed with SIGKILL stops its `nines up`
  // too, which undoes whatever fault was held.
  std::vector<std::string> args = {self, "up", "--fresh", "--exit-with-parent", "--dir", run_dir};
  if (gray_faults) args.push_back("--gray-faults");
  if (!blueprint.empty()) args.push_back(blueprint);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawn(&pid_, self, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return Status::IoError(std::string("cannot start nines up: ") + std::strerror(rc));
  }
  return Status::Ok();
}

bool UpChild::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    pid_ = -1;
    return false;
  }
  return true;
}

int UpChild::Stop(int timeout_ms) {
  if (!Running()) return status_;
  kill(pid_, SIGINT);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Running()) return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

}  // namespace nines::drill
