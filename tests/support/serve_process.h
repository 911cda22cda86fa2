// Test helpers for long-running commands (`cutover serve`): start one in the
// background, read the port it announces, talk HTTP to it, stop it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace cutover::testing {

// A child process whose stdout is read until it prints
// "listening on http://HOST:PORT"; stderr goes to a file for diagnostics.
// The destructor SIGKILLs a child still running. Not thread-safe.
class ServeProcess {
 public:
  ServeProcess() = default;
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts argv with `env` added, in `cwd`; false (after a test failure
  // naming the reason and stderr) if no port was announced within `timeout`.
  bool Start(const std::vector<std::string>& argv,
             const std::vector<std::pair<std::string, std::string>>& env, const std::string& cwd,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Stderr() const;  // what the child has written to stderr so far

  // Sends `sig`.
  void Signal(int sig) const;
  // SIGTERM, then waits up to `timeout`; returns the exit code, or -signal,
  // or -1000 if it had to be killed.
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int stdout_fd_ = -1;  // kept open so a later write cannot SIGPIPE the child
  std::string stderr_path_;
};

struct HttpResponse {
  int status = 0;  // 0 when the request failed
  std::string body;
  std::string error;
};

// One HTTP/1.1 request to 127.0.0.1:port with "Connection: close", at most
// `timeout` end to end. `headers` are full lines without CRLF.
HttpResponse Http(int port, const std::string& method, const std::string& target,
                  const std::string& body = "", const std::vector<std::string>& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Starts `cutover serve cutover.yaml --port 0` in `dir` with `env` added,
// and waits (30 s at most) until its /v1/stage names `stage`.
bool StartServeAtStage(ServeProcess* serve, const std::string& dir,
                       const std::vector<std::pair<std::string, std::string>>& env,
                       const std::string& stage);

// Http with "Authorization: Bearer <token>", at most 30 s: a gateway write
// or read as an application sends it.
HttpResponse HttpWithToken(const std::string& token, int port, const std::string& method,
                           const std::string& target, const std::string& body = "");

// `text`'s lines, each without its newline (a last line without one is
// left out: command output ends with a newline).
std::vector<std::string> OutputLines(const std::string& text);

// A TCP connection to 127.0.0.1:port that sends `prefix` (maybe nothing)
// and then stays silent; -1 if it cannot connect. The caller closes it.
int SilentConnection(int port, const std::string& prefix);

}  // namespace cutover::testing
