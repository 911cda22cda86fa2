// `cutover serve SPEC`: health, metrics, and the stage and routing API over
// HTTP, following stage changes without a restart.
#include <fmt/format.h>

#include "cli/command.h"
#include "engine/core/target_resolver.h"
#include "server/serve_runner.h"

namespace cutover::cli {

CommandAction AddServeCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    int port = -1;
    std::string listen;
    std::string journal;
    bool scratch = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_option("--port", o->port,
                  "TCP port (default: the spec's serve.port, 8411); 0 lets the kernel choose "
                  "and the bound port is printed on stdout")
      ->check(CLI::Range(0, 65535));
  app->add_option("--listen", o->listen,
                  "Address to bind (default: the spec's serve.listen, 127.0.0.1); anything "
                  "else exposes the control API beyond this host");
  app->add_option("--journal", o->journal,
                  "Directory of this process's dual-write journal (default: the spec's work "
                  "directory's journal/); one serve process per journal, so a second gateway "
                  "on this host needs its own");
  AddScratchFlag(app, &o->scratch);
  app->footer(
      "POST /v1/stage and /v1/reads need 'Authorization: Bearer <token>', the token being the "
      "value of the environment variable named by serve.token_env (default CUTOVER_TOKEN); "
      "unset, they always answer 401. So do the gateway's writes, PUT, PATCH and DELETE "
      "/v1/entities/{entity}/{key}, for the entities of redis sources.\nSIGHUP reloads the "
      "spec; SIGTERM drains and exits 0.");
  return [o]() -> int {
    auto migration = LoadSpecOrReport(o->spec_path);
    if (!migration) return kExitUsage;
    engine::TargetHandle target;
    if (int rc = ResolveTargetOrReport(*migration, o->scratch, &target); rc != kExitOk) return rc;
    server::ServeOptions options;
    options.target_url = target.url;
    if (o->port >= 0) options.port = o->port;
    if (!o->listen.empty()) options.listen = o->listen;
    if (!o->journal.empty()) options.journal_dir = o->journal;
    Status st = server::Serve(*migration, options);
    if (!st.ok()) {
      fmt::print(stderr, "error: {}\n", st.message());
      return kExitFailure;
    }
    return kExitOk;
  };
}

}  // namespace cutover::cli
