// Background: a child process a benchmark starts and leaves running (cutover
// sync, cutover serve), killed with the benchmark whatever way it ends.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "process_meter.h"

namespace cutover::bench {

// A child process started in the background (cutover sync, cutover serve); killed when this
// object goes, unless Finish() reaped it. The kernel kills it as well if the
// driver dies (PR_SET_PDEATHSIG).
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             const std::string& stdout_path, const std::string& stderr_path) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      if (!cutover::bench::RedirectTo(stdout_path, STDOUT_FILENO) ||
          !cutover::bench::RedirectTo(stderr_path, STDERR_FILENO)) {
        _exit(126);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  bool Exited() {
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
    }
    return pid_ <= 0;
  }

  // Sends `sig` and waits; returns the exit code and the child's peak RSS.
  int Finish(int sig, long* peak_rss_kib) {
    if (pid_ > 0) {
      kill(pid_, sig);
      int status = 0;
      struct rusage usage {};
      if (wait4(pid_, &status, 0, &usage) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        *peak_rss_kib = usage.ru_maxrss;
      }
      pid_ = -1;
    }
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace cutover::bench
