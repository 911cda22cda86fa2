// The HTTP routes of `cutover serve`: probes, metrics, and the stage and
// routing API for applications that keep their own data access.
#pragma once

#include <cstddef>

namespace httplib {
class Server;
}

namespace cutover::server {

class ServerContext;

// Largest request body accepted; the control API's bodies are a few fields.
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

// GET  /livez              200 while the process runs; no dependency checks
// GET  /readyz             200 or 503 with {"ready", "reasons"}
// GET  /health             the runbook-shaped health document (health_report.h)
// GET  /metrics            Prometheus text format
// GET  /v1/stage           the stage as this process sees it, and what it means
// GET  /v1/route?entity=E&key=K   the read-routing decision for one key
// POST /v1/stage           {"stage", "percent", "force", "reason"}: a transition
// POST /v1/reads           {"entity", "shadow_reads", "shadow_mismatches",
//                           "postgres_reads", "fallbacks"}: an application's
//                          read outcomes, which the rollout/primary guards read
// The POSTs need "Authorization: Bearer <token>" with a token from an
// environment variable the spec names (serve.tokens, or serve.token_env as
// the token "default"); without it 401. Bodies are JSON objects of known
// fields, each checked (400 naming the field), at most kMaxBodyBytes (413).
// Every authenticated POST /v1/stage is a row of cutover.stage_audit whose
// `who` is "token:NAME (http PEER)". cutover_http_requests_total counts each
// answer with the status sent. `ctx` must outlive the server.
void InstallRoutes(httplib::Server& server, ServerContext& ctx);

// Declares every metric family, so /metrics lists them from the first scrape.
void DeclareMetrics(ServerContext& ctx);

}  // namespace cutover::server
