// Child process control for integration tests.
#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/wait.h"

extern char** environ;

namespace nines::test {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path)
    : log_path_(log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addclose(&actions, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed");
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && running()) Stop(SIGKILL, 5000);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept {
  *this = std::move(other);
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && running()) Stop(SIGKILL, 5000);
    pid_ = other.pid_;
    status_ = other.status_;
    log_path_ = std::move(other.log_path_);
    other.pid_ = -1;
  }
  return *this;
}

bool ChildProcess::running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && status_ < 0) kill(pid_, sig);
}

int ChildProcess::Wait(int timeout_ms) {
  if (!WaitUntil([this] { return !running(); }, timeout_ms, 5)) return -1;
  return status_;
}

int ChildProcess::Stop(int sig, int timeout_ms) {
  if (!running()) return status_;
  if (sig == SIGKILL) kill(pid_, SIGCONT);
  Signal(sig);
  return Wait(timeout_ms);
}

std::string ChildProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string NinesBinary() {
  const char* bin = std::getenv("NINES_BIN");
  return bin ? bin : "nines";
}

std::string TestBackendBinary() {
  return (std::filesystem::path(NinesBinary()).parent_path() / "tests" / "support" / "test_backend")
      .string();
}

std::string TestDir(const std::string& name) {
  std::filesystem::path dir =
      std::filesystem::path(NinesBinary()).parent_path() / "test-out" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace nines::test
