// `cutover serve`: wires the watcher, the pool, the metrics and the routes
// into one httplib server; a signal thread handles SIGHUP and SIGTERM.
#include "server/serve_runner.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/schema.h"
#include "common/redact.h"
#include "control/stage_store.h"
#include "control/stage_watcher.h"
#include "server/file_sync_scheduler.h"
#include "server/guarded_server.h"
#include "server/metrics_registry.h"
#include "server/pg_pool.h"
#include "server/routes.h"
#include "server/server_context.h"
#include "spec/spec_loader.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::server {
namespace {

std::string Origin() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("{}:{}", host, getpid());
}

void Reload(const std::string& path, const spec::MigrationSpec& running, ServerContext& ctx) {
  auto loaded = spec::LoadSpec(path);
  if (!loaded.ok()) {
    spdlog::error("SIGHUP: keeping the running spec: {}", loaded.status().message());
    return;
  }
  auto next = std::make_shared<const spec::MigrationSpec>(std::move(loaded).value());
  if (next->name != running.name || next->target.url != running.target.url ||
      next->serve.listen != running.serve.listen || next->serve.port != running.serve.port) {
    spdlog::warn(
        "SIGHUP: migration, target.url, serve.listen and serve.port changes need a restart; "
        "the rest applies now");
  }
  const auto& st = next->stages;
  ctx.watcher().SetIntervals(std::chrono::milliseconds(st.poll_interval_ms),
                             std::chrono::milliseconds(st.stale_after_ms));
  ctx.pool().SetLimits(next->serve.pool_size, next->serve.pool_overflow,
                       std::chrono::milliseconds(next->serve.pool_wait_timeout_ms));
  ctx.set_spec(std::move(next));
  spdlog::info("SIGHUP: reloaded {}", path);
}

}  // namespace

Status Serve(const spec::MigrationSpec& migration, const ServeOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) {
    return Internal("cannot block SIGHUP/SIGTERM for the signal thread");
  }

  // A certificate that cannot serve is found before anything starts.
  std::shared_ptr<TlsContext> tls;
  if (!migration.serve.tls.cert_file.empty()) {
    ASSIGN_OR_RETURN(tls,
                     TlsContext::Load(migration.serve.tls.cert_file, migration.serve.tls.key_file));
  }

  // The stage tables exist before the first watcher read, so /v1/stage and
  // /readyz work on a target no `phase set` has touched yet. A failure here
  // is not fatal (the watcher keeps trying and /readyz says why), except a
  // catalog newer than this binary (catalog/schema.h).
  if (auto conn = pg_store::PgConnection::Connect(options.target_url); conn.ok()) {
    // A schema a newer cutover shaped is no passing trouble: refuse to serve.
    auto version = catalog::ReadCatalogVersion(conn->get());
    if (version.ok() && version->value_or(0) > catalog::kCatalogVersion) {
      return catalog::NewerCatalogError(**version);
    }
    Status st = control::EnsureStageSchema(conn->get());
    if (!st.ok()) spdlog::warn("{}", RedactSecrets(st.message()));
  } else {
    spdlog::warn("{}", RedactSecrets(conn.status().message()));
  }

  const auto& st = migration.stages;
  control::StageWatcher watcher({options.target_url, migration.name,
                                 std::chrono::milliseconds(st.poll_interval_ms),
                                 std::chrono::milliseconds(st.stale_after_ms)});
  PgPool pool({options.target_url, migration.serve.pool_size, migration.serve.pool_overflow,
               std::chrono::milliseconds(migration.serve.pool_wait_timeout_ms)});
  MetricsRegistry metrics;
  ServerContext ctx(std::make_shared<const spec::MigrationSpec>(migration), &watcher, &pool,
                    &metrics, Origin());
  DeclareMetrics(ctx);
  watcher.Start();
  // The gateway takes writes for the entities of redis sources; its journal
  // is recovered (and what it owes replayed) before the port opens.
  auto gateway = gateway::Gateway::Open(
      ctx.spec(), options.target_url, options.journal_dir.value_or(migration.work_dir + "/journal"),
      ctx.origin());
  if (!gateway.ok() && !options.journal_dir &&
      gateway.status().code() == StatusCode::kFailedPrecondition) {
    // The default journal is another serve's: this one serves the control
    // API, and says so, rather than refuse to start (a second process for
    // the stage and routes needs no journal).
    const std::string why = gateway.status().message() +
                            "; this process serves no entity writes or reads (give it --journal "
                            "DIR of its own to make it a gateway too)";
    spdlog::warn("{}", why);
    ctx.set_gateway_absent(why);
  } else if (!gateway.ok()) {
    watcher.Stop();
    return gateway.status().WithContext("opening the dual-write gateway");
  } else {
    ctx.set_gateway(gateway->get());
  }

  // The file sync on the spec's schedule (`sync: { every: 6h }`), if any.
  FileSyncScheduler file_sync(options.target_url, ctx.spec());
  ctx.set_file_sync(&file_sync);
  file_sync.Start();

  // Slow clients hold no worker, nor do slow TLS handshakes (guarded_server.h).
  GuardedServer http({}, tls);
  InstallRoutes(http, ctx);
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res,
                                std::exception_ptr ep) {
    std::string what;
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "an exception that is not a std::exception";  // still logged below, never dropped
    }
    spdlog::error("{} {}: {}", req.method, req.path, RedactSecrets(what));
    res.status = 500;
    res.set_content("{\"error\": \"internal error; see the server log\"}\n", "application/json");
  });

  const std::string host = options.listen.value_or(migration.serve.listen);
  const int want_port = options.port.value_or(migration.serve.port);
  int port = want_port;
  if (want_port == 0) {
    port = http.bind_to_any_port(host);
  } else if (!http.bind_to_port(host, want_port)) {
    port = -1;
  }
  if (port <= 0) {
    watcher.Stop();
    return Unavailable(fmt::format("cannot listen on {}:{}", host, want_port));
  }
  if (!http.RaiseBacklog()) {
    spdlog::warn("cannot raise the listen backlog on {}:{}: {}", host, port, std::strerror(errno));
  }
  const char* scheme = tls != nullptr ? "https" : "http";
  fmt::print(options.announce, "listening on {}://{}:{}\n", scheme, host, port);
  std::fflush(options.announce);
  spdlog::info("serving {} on {}://{}:{}", migration.name, scheme, host, port);

  std::atomic<bool> done{false};
  const std::string spec_path = migration.spec_path;
  std::thread signal_thread([&] {
    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (done) return;
      if (sig == SIGHUP) {
        Reload(spec_path, *ctx.spec(), ctx);
        continue;
      }
      spdlog::info("{}: draining and stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      ctx.draining = true;
      http.stop();
      return;
    }
  });

  const bool listened = http.listen_after_bind();
  done = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // wakes it if still waiting
  signal_thread.join();
  file_sync.Stop();
  watcher.Stop();
  if (!listened && !ctx.draining) return Unavailable("the HTTP server stopped unexpectedly");
  spdlog::info("stopped");
  return Status::Ok();
}

}  // namespace cutover::server
