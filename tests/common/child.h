#pragma once
// Running a piece of a test in a forked child process: for conditions that would take the test
// process down if the code under test mishandled them (std::terminate), and for a full disk,
// simulated with a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored, so write() fails with EFBIG
// "File too large") because a small tmpfs cannot be mounted in a test.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace s2v::test {

struct ChildResult {
  bool exited = false;  // false: killed by a signal (SIGABRT from std::terminate, ...)
  int signal = 0;
  std::string text;     // what f returned
};

// Runs f in a forked child whose files may not grow beyond file_limit_bytes. Only the calling
// thread exists in the child: f must not wait on threads of the parent.
inline ChildResult run_in_child(const std::function<std::string()>& f, rlim_t file_limit_bytes = RLIM_INFINITY) {
  ChildResult r;
  int fds[2];
  if (::pipe(fds) != 0) return r;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    if (file_limit_bytes != RLIM_INFINITY) {
      rlimit rl{file_limit_bytes, file_limit_bytes};
      ::setrlimit(RLIMIT_FSIZE, &rl);
    }
    const std::string out = f();
    for (size_t off = 0; off < out.size();) {
      const ssize_t n = ::write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += size_t(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) r.text.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exited = WIFEXITED(status);
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return r;
}

}  // namespace s2v::test
