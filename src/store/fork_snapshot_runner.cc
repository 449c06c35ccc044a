// The fork()-based snapshot runner; see fork_snapshot_runner.h.
#include "store/fork_snapshot_runner.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace nines::store {

namespace {

constexpr size_t kMaxErrorText = 4096;

// In the child: writes all of text to fd, ignoring failures.
void WriteAllToPipe(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// In the child: every caught signal gets its default action back, then the
// parent's signal mask is restored (signals were blocked across the fork).
// The parent's handlers are not the child's: Asio's (SIGTERM, SIGINT in a
// store) writes the signal number to its pipe's descriptor, which is the
// parent's own pipe until the child closes it and then a free number the
// snapshot file may take; and a Ctrl-C in a terminal or a systemd stop
// signals the child with its parent. Ended by such a signal, the child's
// snapshot fails and is tried again. Ignored signals (SIGPIPE) stay ignored,
// and so do the handlers of faults the child itself would raise (a
// sanitizer's or crash reporter's).
bool IsFault(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
         sig == SIGSYS || sig == SIGABRT;
}

void ResetSignals(const sigset_t& mask) {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (IsFault(sig)) continue;
    struct sigaction action {};
    if (::sigaction(sig, nullptr, &action) != 0) continue;  // one glibc keeps for itself
    const bool caught = (action.sa_flags & SA_SIGINFO) != 0 ||
                        (action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN);
    if (!caught) continue;
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    ::sigaction(sig, &fallback, nullptr);
  }
  ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
}

[[noreturn]] void RunChild(const SnapshotJob& job, int error_fd, pid_t parent,
                           const sigset_t& mask) {
  ResetSignals(mask);
  // Let go of the parent's sockets, epoll and files at once: a socket the
  // parent closes must really close (FIN to the peer, out of the parent's
  // epoll set) without waiting for this child to exit.
  if (error_fd > 3) ::close_range(3, static_cast<unsigned>(error_fd) - 1, 0);
  ::close_range(static_cast<unsigned>(error_fd) + 1, ~0u, 0);
  // Die with the parent; and if it already died between fork and prctl, go.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(3);
  std::string content = job.serialize();
  Status s = job.write(content);
  if (s.ok()) ::_exit(0);
  WriteAllToPipe(error_fd, s.message().substr(0, kMaxErrorText));
  ::_exit(s.code() == Status::Code::kNoSpace ? 2 : 1);
}

}  // namespace

ForkSnapshotRunner::~ForkSnapshotRunner() {
  Abandon();
}

Status ForkSnapshotRunner::Start(SnapshotJob job) {
  if (running()) return Status::InvalidArgument("a snapshot is already being written");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::IoError(fmt::format("pipe for the snapshot child: {}", std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  // No handler of the parent's may run in the child before ResetSignals.
  sigset_t all;
  sigset_t mask;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &mask);
  const pid_t pid = ::fork();
  const int fork_errno = errno;
  if (pid == 0) {
    ::close(fds[0]);
    RunChild(job, fds[1], parent, mask);
  }
  ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::IoError(fmt::format("fork for the snapshot: {}", std::strerror(fork_errno)));
  }
  ::close(fds[1]);
  child_ = pid;
  error_pipe_ = fds[0];
  return Status::Ok();
}

std::optional<Status> ForkSnapshotRunner::Poll() {
  if (!running()) return std::nullopt;
  int wstatus = 0;
  pid_t r = ::waitpid(child_, &wstatus, WNOHANG);
  if (r == 0) return std::nullopt;  // still writing
  if (r < 0 && errno == EINTR) return std::nullopt;
  std::string text;
  char buffer[512];
  for (;;) {
    ssize_t n = ::read(error_pipe_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || text.size() > kMaxErrorText) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(error_pipe_);
  error_pipe_ = -1;
  child_ = -1;
  if (r < 0) return Status::IoError(fmt::format("waitpid: {}", std::strerror(errno)));
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return Status::Ok();
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 2) return Status::NoSpace(text);
  if (WIFSIGNALED(wstatus)) {
    return Status::IoError(
        fmt::format("the snapshot child was killed by signal {}", WTERMSIG(wstatus)));
  }
  return Status::IoError(
      text.empty() ? fmt::format("the snapshot child exited with status {}", WEXITSTATUS(wstatus))
                   : text);
}

void ForkSnapshotRunner::Abandon() {
  if (!running()) return;
  ::kill(child_, SIGKILL);
  while (::waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
  }
  ::close(error_pipe_);
  error_pipe_ = -1;
  child_ = -1;
}

}  // namespace nines::store
