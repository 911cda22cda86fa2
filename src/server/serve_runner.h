// `cutover serve`: runs the HTTP server with its stage watcher and pool until
// SIGTERM, reloading the spec on SIGHUP.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::server {

struct ServeOptions {
  std::string target_url;             // PostgreSQL; never printed unredacted
  std::optional<int> port;            // overrides the spec's serve.port
  std::optional<std::string> listen;  // overrides the spec's serve.listen
  // The gateway's journal; default <work_dir>/journal.
  std::optional<std::string> journal_dir;
  // Where "listening on http://ADDR:PORT" is printed once bound (a port of 0
  // becomes the one the kernel chose), so scripts and tests can connect.
  std::FILE* announce = stdout;
};

// Serve design
//
// Signals: SIGHUP, SIGTERM and SIGINT are blocked in every thread (the mask is
// set before any thread starts, and threads inherit it) and taken by one
// thread with sigwait, so no handler runs in async-signal context. SIGHUP
// re-reads the spec: guard windows, poll intervals, pool limits and the token
// variable apply at once; the listener, the pool's open connections and the
// watcher's connection are kept (a changed target.url, listen or port needs a
// restart and is logged as such). A spec that no longer loads is logged and
// the old one kept. SIGTERM or SIGINT: /readyz turns 503, the listening
// socket closes, requests in flight finish, then the watcher and the pool
// close and Serve returns OK.
Status Serve(const spec::MigrationSpec& migration, const ServeOptions& options);

}  // namespace cutover::server
