// The HTTP handlers of `cutover serve`. Each answers JSON (or Prometheus
// text), is counted in cutover_http_requests_total, and never echoes a secret.
#include "server/routes.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "catalog/file_sync.h"
#include "catalog/sync_state.h"
#include "catalog/way_back.h"
#include "common/redact.h"
#include "control/read_router.h"
#include "control/stage_machine.h"
#include "control/stage_store.h"
#include "gateway/record_body.h"
#include "server/file_sync_scheduler.h"
#include "server/health_report.h"
#include "server/metrics_registry.h"
#include "server/openapi.h"
#include "server/server_context.h"
#include "spec/nearest_name.h"
#include "stores/registry.h"

namespace cutover::server {
namespace {

using nlohmann::json;

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // A client's bytes echoed in an error may be invalid UTF-8; they are
  // replaced (U+FFFD) rather than failing the answer.
  res.set_content(body.dump(2, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

void ReplyError(httplib::Response& res, int status, const std::string& message) {
  Reply(res, status, {{"error", message}});
}

// The answer to an entity write or read that failed: the client's request
// at fault (400), the store refusing this record (409), or cutover unable
// to serve it now, whatever the request (503: a store down, or refusing
// cutover's own login or rights, which the operator must fix).
int EntityErrorCode(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kDataError:
      return 400;
    case StatusCode::kFailedPrecondition:
      return 409;
    default:
      return 503;
  }
}

// Compares in time independent of where the strings differ, so the token
// cannot be guessed byte by byte from response times.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The name of the token the request presents (serve.tokens), or nothing.
// Every configured token is compared, so the time taken does not tell which
// one nearly matched; a token that two names share would make "who" a
// guess, so it is refused.
std::optional<std::string> AuthorizedAs(ServerContext& ctx, const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header.starts_with(kBearer)) return std::nullopt;
  const std::string presented = header.substr(kBearer.size());
  std::vector<std::string> matches;
  for (const auto& [name, env] : ctx.spec()->serve.NamedTokens()) {
    const char* token = std::getenv(env.c_str());
    // No token configured means changes over HTTP are off, not open.
    if (token == nullptr || *token == '\0') continue;
    if (SameSecret(presented, token)) matches.push_back(name);
  }
  if (matches.size() > 1) {
    spdlog::error("tokens {} have the same value; refusing it, since who used it is unknown",
                  fmt::join(matches, ", "));
    return std::nullopt;
  }
  if (matches.empty()) return std::nullopt;
  return matches.front();
}

// The name of the token the request presents (the application, for the
// gateway's per-application counts), or a 401 naming what is needed.
std::optional<std::string> RequireToken(ServerContext& ctx, const httplib::Request& req,
                                        httplib::Response& res) {
  if (auto name = AuthorizedAs(ctx, req)) return name;
  std::vector<std::string> envs;
  for (const auto& [name, env] : ctx.spec()->serve.NamedTokens()) envs.push_back("$" + env);
  res.set_header("WWW-Authenticate", "Bearer");
  ReplyError(res, 401,
             fmt::format("a bearer token is required (the value of {} on the server)",
                         fmt::join(envs, " or ")));
  return std::nullopt;
}

// "who" in the audit trail: the token's name, and the peer for context.
std::optional<std::string> RequireAuth(ServerContext& ctx, const httplib::Request& req,
                                       httplib::Response& res) {
  const std::optional<std::string> name = RequireToken(ctx, req, res);
  if (!name) return std::nullopt;
  return fmt::format("token:{} (http {})", *name, req.remote_addr);
}

// The body as a JSON object whose keys are all in `allowed`; otherwise
// nothing, and `problem` names what is wrong (an unknown key with the
// nearest known one).
std::optional<json> ReadObject(const httplib::Request& req,
                               const std::vector<std::string_view>& allowed,
                               const std::string& example, std::string* problem) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    *problem = "the body is not valid JSON; send one like " + example;
  } else if (!body.is_object()) {
    *problem = "the body must be a JSON object like " + example;
  } else {
    for (const auto& [key, value] : body.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      const std::string near = spec::NearestName(key, allowed);
      *problem = fmt::format("unknown field '{}'{}", key.substr(0, 64),
                             near.empty() ? "" : "; did you mean '" + near + "'?");
      break;
    }
  }
  if (problem->empty()) return body;
  return std::nullopt;
}

json StateJson(const spec::MigrationSpec& migration, const control::StageState& s) {
  const control::WritePolicy writes = control::WritesFor(s.stage);
  json w = {{"primary", control::StoreName(writes.primary)},
            {"secondary",
             writes.secondary ? json(control::StoreName(*writes.secondary)) : json(nullptr)}};
  const bool fallback = s.stage == control::Stage::kRollout ||
                        (s.stage == control::Stage::kPrimary && migration.stages.primary_fallback);
  return {{"stage", control::StageName(s.stage)},
          {"percent", s.percent},
          {"version", s.version},
          {"changed_at", s.changed_at},
          {"changed_by", s.changed_by},
          {"writes", w},
          // The runbooks' flags, derived, for applications that switch on them.
          {"flags",
           {{"dual_write", writes.secondary.has_value()},
            {"shadow_reads", s.stage == control::Stage::kShadow ||
                                 (s.stage == control::Stage::kRollout && s.percent < 100)},
            {"postgres_read_percent", s.percent},
            {"fallback_to_legacy", fallback}}}};
}

void GetStage(ServerContext& ctx, httplib::Response& res) {
  const auto snap = ctx.watcher().Current();
  if (!snap.state) return ReplyError(res, 503, "the stage has not been read yet");
  json body = StateJson(*ctx.spec(), *snap.state);
  body["migration"] = ctx.spec()->name;
  body["fresh"] = snap.fresh;
  body["age_seconds"] = snap.age_seconds;
  Reply(res, 200, body);
}

void GetRoute(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!req.has_param("entity") || !req.has_param("key")) {
    return ReplyError(res, 400, "GET /v1/route needs ?entity=E&key=K");
  }
  const auto migration = ctx.spec();
  const std::string entity = req.get_param_value("entity");
  if (migration->FindEntity(entity) == nullptr) {
    return ReplyError(res, 404, "no entity '" + entity + "' in the spec");
  }
  const auto snap = ctx.watcher().Current();
  if (!snap.state) return ReplyError(res, 503, "the stage has not been read yet");
  const std::string key = req.get_param_value("key");
  const control::RouteDecision d = control::RouteRead(
      snap.state->stage, snap.state->percent, entity, key, migration->stages.primary_fallback);
  ctx.metrics().Add("cutover_route_decisions_total",
                    {entity, std::string(control::StoreName(d.read_from))});
  Reply(res, 200,
        {{"entity", entity},
         {"key", key},
         {"stage", control::StageName(snap.state->stage)},
         {"percent", snap.state->percent},
         {"version", snap.state->version},
         {"bucket", d.bucket},
         {"read_from", control::StoreName(d.read_from)},
         {"shadow", d.shadow},
         {"fallback_to_legacy", d.fallback_to_legacy},
         {"fresh", snap.fresh}});
}

// Every field is checked before anything is judged; a request that fails is
// still an attempt by an authenticated caller, so it is audited (outcome
// `invalid`) before the 400 goes out.
void PostStage(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::optional<std::string> who = RequireAuth(ctx, req, res);
  if (!who) return;
  const auto migration = ctx.spec();
  std::string to_stage;  // a known stage name, once read
  std::optional<int> to_percent;
  auto invalid = [&](const std::string& problem) {
    auto lease = ctx.pool().Acquire();
    if (!lease.ok()) return ReplyError(res, 503, "PostgreSQL is unreachable");
    Status st = control::RecordInvalidAttempt(lease->get(), *migration, *who, to_stage, to_percent,
                                              problem);
    if (!st.ok()) {
      lease->Discard();
      spdlog::error("POST /v1/stage: {}", RedactSecrets(st.message()));
      return ReplyError(res, 503, "the attempt could not be audited; see the server log");
    }
    ReplyError(res, 400, problem);
  };

  std::string problem;
  const std::optional<json> body = ReadObject(req, {"stage", "percent", "force", "reason"},
                                              R"({"stage": "rollout", "percent": 10})", &problem);
  if (!body) return invalid(problem);
  if (!body->contains("stage") || !(*body)["stage"].is_string()) {
    return invalid("\"stage\" must be a string naming a stage: " +
                   fmt::format("{}", fmt::join(control::StageNames(), ", ")));
  }
  const std::string stage_text = (*body)["stage"].get<std::string>();
  const auto stage = control::ParseStage(stage_text);
  if (!stage) {
    std::vector<std::string_view> names = control::StageNames();
    const std::string near = spec::NearestName(stage_text, names);
    return invalid(fmt::format("unknown stage '{}' in \"stage\"{}", stage_text.substr(0, 64),
                               near.empty()
                                   ? "; one of " + fmt::format("{}", fmt::join(names, ", "))
                                   : "; did you mean '" + near + "'?"));
  }
  to_stage = std::string(control::StageName(*stage));
  control::TransitionRequest request;
  request.to = *stage;
  request.who = *who;
  if (body->contains("percent")) {
    const json& p = (*body)["percent"];
    // The number as sent, without narrowing: 4294967306 must not become 10.
    if (!p.is_number_integer() || (p.is_number_unsigned() && p.get<uint64_t>() > 100) ||
        (!p.is_number_unsigned() && (p.get<int64_t>() < 0 || p.get<int64_t>() > 100))) {
      return invalid("\"percent\" must be a whole number from 0 to 100, not " +
                     p.dump().substr(0, 64));
    }
    request.percent = static_cast<int>(p.get<int64_t>());
    to_percent = request.percent;
  }
  if (body->contains("force")) {
    if (!(*body)["force"].is_boolean()) return invalid("\"force\" must be true or false");
    request.force = (*body)["force"].get<bool>();
  }
  if (body->contains("reason")) {
    if (!(*body)["reason"].is_string()) return invalid("\"reason\" must be a string");
    request.why = (*body)["reason"].get<std::string>();
  }
  // Checked here too (Transition repeats it) so the error names the field.
  if (Status valid = control::ValidateRequest(request); !valid.ok()) {
    return invalid("\"reason\": " + valid.message());
  }

  auto lease = ctx.pool().Acquire();
  if (!lease.ok()) return ReplyError(res, 503, "PostgreSQL is unreachable");
  auto outcome = control::Transition(lease->get(), *migration, request);
  if (!outcome.ok()) {
    if (outcome.status().code() == StatusCode::kInvalidArgument) {
      return ReplyError(res, 400, outcome.status().message());
    }
    lease->Discard();
    spdlog::error("POST /v1/stage: {}", RedactSecrets(outcome.status().message()));
    return ReplyError(res, 503, "the stage could not be changed; see the server log");
  }
  json out = {{"applied", outcome->applied},
              {"forced", outcome->forced},
              {"from", StateJson(*migration, outcome->before)},
              {"to", StateJson(*migration, outcome->after)},
              {"guards", outcome->guards.ToJson()}};
  if (outcome->applied) {
    spdlog::info("stage of {} moved to {} {}% by {}{}", migration->name,
                 control::StageName(outcome->after.stage), outcome->after.percent, request.who,
                 outcome->forced ? " (forced)" : "");
  }
  Reply(res, outcome->applied ? 200 : 409, out);
}

// A JSON file's record as the client sends it: the body itself, which must be
// one JSON object. Its text is kept as sent (numbers keep every digit).
Result<std::string> RecordBody(const std::string& body) {
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return InvalidArgument("the body must be the record itself, one JSON object");
  }
  return body;
}

// An IoTDB point as the client sends it, {"value": v} with an optional
// {"type": "DOUBLE"} for a series IoTDB does not have yet, as the IoTDB
// writer takes it; the point's series and time are its key.
Result<std::string> IotdbPointBody(const std::string& body) {
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("value") ||
      parsed["value"].is_null()) {
    return InvalidArgument(
        "the body must be the point's value, {\"value\": ...}, with \"type\" (an IoTDB type "
        "name) for a series IoTDB does not have yet");
  }
  for (const auto& [name, v] : parsed.items()) {
    if (name != "value" && (name != "type" || !v.is_string())) {
      return InvalidArgument("a point's body has \"value\" and an optional \"type\" string, not '" +
                             name.substr(0, 64) + "'");
    }
  }
  json doc = {{"$value", parsed["value"]}};
  if (parsed.contains("type")) doc["$type"] = parsed["type"];
  return doc.dump();
}

// The record of an answer: a Redis key's value and expiry, or a JSON file's
// record (an IoTDB point's document) as it is stored.
json AnswerRecord(const spec::EntitySpec& e, const std::string& document) {
  if (e.redis) return json::parse(gateway::AnswerRecord(e.redis->value, document));
  return json::parse(document, nullptr, false);
}

// One write through the gateway (gateway/write_path.h), answered once the
// primary store holds it and the journal has it on disk: the status code
// and the body, for a single request and for each item of a batch.
enum class EntityWrite { kPut, kDelete, kPatch };
struct WriteAnswer {
  int status = 200;
  json body;
};
// The write's operation and payload for WritePath (a put's body turned into
// the store's document), or the answer that refuses it.
struct PreparedWrite {
  gateway::WritePath::Item item;
  std::optional<WriteAnswer> refused;
};
PreparedWrite PrepareWrite(const spec::EntitySpec& e, const std::string& key, EntityWrite kind,
                           const std::string& body) {
  using Op = gateway::WritePath::Op;
  PreparedWrite p;
  p.item.key = key;
  p.item.op = kind == EntityWrite::kPut      ? Op::kPut
              : kind == EntityWrite::kDelete ? Op::kDelete
                                             : Op::kModify;
  if (kind == EntityWrite::kPut) {
    Result<std::string> doc = e.redis   ? gateway::RedisDocumentFromBody(body)
                              : e.iotdb ? IotdbPointBody(body)
                                        : RecordBody(body);
    if (!doc.ok()) {
      p.refused = WriteAnswer{400, {{"error", doc.status().message()}}};
      return p;
    }
    p.item.payload = std::move(*doc);
  } else if (kind == EntityWrite::kPatch) {
    p.item.payload = body;
  }
  return p;
}

// The answer to one write WritePath did (or refused), its figures counted.
WriteAnswer AnswerWrite(ServerContext& ctx, const std::string& application,
                        const std::string& method, const spec::EntitySpec& e,
                        const std::string& key, const Result<gateway::WriteOutcome>& out) {
  const std::string& entity = e.name;
  if (!out.ok()) {
    const Status& st = out.status();
    spdlog::warn("{} {} {}: {}", method, entity, key, RedactSecrets(st.message()));
    return {EntityErrorCode(st), {{"error", RedactSecrets(st.message())}}};
  }
  auto& m = ctx.metrics();
  if (out->legacy_seconds >= 0) {
    m.Observe("cutover_gateway_write_seconds", {entity, "legacy"}, out->legacy_seconds);
  }
  if (out->postgres_seconds >= 0) {
    m.Observe("cutover_gateway_write_seconds", {entity, "postgres"}, out->postgres_seconds);
  }
  if (out->journal_seconds >= 0) {
    m.Observe("cutover_gateway_write_seconds", {entity, "journal"}, out->journal_seconds);
  }
  m.Add("cutover_gateway_writes_total",
        {entity, std::string(control::StoreName(out->policy.primary)), application});
  ctx.NoteWrite(out->policy.primary == control::Store::kPostgres, application);
  json record = nullptr;
  if (!out->deleted) {
    // The record as the primary store holds it now: its value and expiry.
    record = AnswerRecord(e, out->state);
  }
  // Each store's part: "written" (the primary), "journaled" (owed by the
  // journal, landing through the replayer) or "not written in this stage".
  json stores = json::object();
  for (const control::Store st : {control::Store::kLegacy, control::Store::kPostgres}) {
    stores[std::string(control::StoreName(st))] =
        st == out->policy.primary                             ? "written"
        : out->policy.secondary == st && out->journal_seq > 0 ? "journaled"
                                                              : "not written in this stage";
  }
  return {200,
          {{"entity", entity},
           {"key", key},
           {"deleted", out->deleted},
           {"record", record},
           {"version", out->version},
           {"journal_seq", out->journal_seq},
           {"stores", stores}}};
}

// The stage writes go by, or the answer that nothing was written.
std::optional<control::Stage> WriteStage(ServerContext& ctx, WriteAnswer* refused) {
  const std::optional<control::StageState> state = ctx.watcher().Current().state;
  if (state) return state->stage;
  *refused = {503,
              {{"error",
                "the migration's stage has not been read from PostgreSQL yet, so where "
                "writes go is unknown; nothing was written"}}};
  return std::nullopt;
}

// One write through the gateway (gateway/write_path.h), answered once the
// primary store holds it and the journal has it on disk.
WriteAnswer WriteOne(ServerContext& ctx, gateway::Gateway* gw, const std::string& application,
                     const std::string& method, const std::string& entity, const std::string& key,
                     EntityWrite kind, const std::string& body) {
  const spec::EntitySpec* e = ctx.spec()->FindEntity(entity);
  PreparedWrite p = PrepareWrite(*e, key, kind, body);
  if (p.refused) return *p.refused;
  WriteAnswer refused;
  const std::optional<control::Stage> stage = WriteStage(ctx, &refused);
  if (!stage) return refused;
  gateway::WritePath& writes = gw->writes();
  using Op = gateway::WritePath::Op;
  const Result<gateway::WriteOutcome> out =
      p.item.op == Op::kPut      ? writes.Put(*stage, entity, key, p.item.payload)
      : p.item.op == Op::kDelete ? writes.Delete(*stage, entity, key)
                                 : writes.Modify(*stage, entity, key, p.item.payload);
  return AnswerWrite(ctx, application, method, *e, key, out);
}

// The gateway, or a 404 naming why `entity` is not written through it.
gateway::Gateway* GatewayFor(ServerContext& ctx, const std::string& entity,
                             httplib::Response& res) {
  gateway::Gateway* gw = ctx.gateway();
  if (gw == nullptr && !ctx.gateway_absent().empty()) {
    ReplyError(res, 503, ctx.gateway_absent());
    return nullptr;
  }
  if (gw == nullptr || !gw->Writes(entity)) {
    ReplyError(
        res, 404,
        fmt::format("entity '{}' is not served by this gateway (it serves the entities "
                    "of redis sources, of json sources kept in one file each, of parquet "
                    "sources kept in one folder each, and of iotdb sources read over REST in "
                    "layout long)",
                    entity.substr(0, 64)));
    return nullptr;
  }
  return gw;
}

// PUT, PATCH and DELETE /v1/entities/{entity}/{key}.
void WriteEntity(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
                 EntityWrite kind) {
  const std::optional<std::string> application = RequireToken(ctx, req, res);
  if (!application) return;
  const std::string entity = req.matches[1];
  gateway::Gateway* gw = GatewayFor(ctx, entity, res);
  if (gw == nullptr) return;
  const WriteAnswer a =
      WriteOne(ctx, gw, *application, req.method, entity, req.matches[2], kind, req.body);
  Reply(res, a.status, a.body);
}

// POST /v1/entities/{entity}:batch: {"writes": [{"op": "put" | "patch" |
// "delete", "key": K, "body": {...}}]}, each applied in order as its own
// write (not one transaction); the answer lists each one's status and body.
// At most kMaxBatchWrites writes, and the request's size limit holds.
void WriteBatch(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::optional<std::string> application = RequireToken(ctx, req, res);
  if (!application) return;
  const std::string entity = req.matches[1];
  gateway::Gateway* gw = GatewayFor(ctx, entity, res);
  if (gw == nullptr) return;
  constexpr size_t kMaxBatchWrites = 1000;
  const char* example =
      R"({"writes": [{"op": "put", "key": "u:1", "body": {"value": {"name": "Ada"}}}]})";
  std::string problem;
  const std::optional<json> parsed = ReadObject(req, {"writes"}, example, &problem);
  if (!parsed) return ReplyError(res, 400, problem);
  if (!parsed->contains("writes") || !(*parsed)["writes"].is_array()) {
    return ReplyError(res, 400, std::string("\"writes\" must be an array like ") + example);
  }
  const json& items = (*parsed)["writes"];
  if (items.size() > kMaxBatchWrites) {
    return ReplyError(res, 400, fmt::format("at most {} writes per batch", kMaxBatchWrites));
  }
  // Every item is checked before any is written.
  for (size_t i = 0; i < items.size(); ++i) {
    const json& w = items[i];
    const bool ok = w.is_object() && w.contains("op") && w["op"].is_string() && w.contains("key") &&
                    w["key"].is_string() &&
                    (w["op"] == "put" || w["op"] == "patch" || w["op"] == "delete") &&
                    (w["op"] == "delete" || (w.contains("body") && w["body"].is_object()));
    if (!ok) {
      return ReplyError(res, 400,
                        fmt::format("writes[{}] must be {{\"op\": \"put\" | \"patch\" | "
                                    "\"delete\", \"key\": string, \"body\": object (not for "
                                    "delete)}}; nothing was written",
                                    i));
    }
  }
  // The writes are applied together where WritePath can (one flush to the
  // legacy store, one read back), and their journal appends share one
  // wait: the batch costs one group commit.
  const spec::EntitySpec* e = ctx.spec()->FindEntity(entity);
  std::vector<WriteAnswer> answers(items.size());
  std::vector<gateway::WritePath::Item> writes;
  std::vector<size_t> written_at;  // the item of each write
  for (size_t i = 0; i < items.size(); ++i) {
    const json& w = items[i];
    const std::string op = w["op"].get<std::string>();
    const EntityWrite kind = op == "put"     ? EntityWrite::kPut
                             : op == "patch" ? EntityWrite::kPatch
                                             : EntityWrite::kDelete;
    PreparedWrite p = PrepareWrite(*e, w["key"].get<std::string>(), kind,
                                   w.contains("body") ? w["body"].dump() : "");
    if (p.refused) {
      answers[i] = std::move(*p.refused);
      continue;
    }
    writes.push_back(std::move(p.item));
    written_at.push_back(i);
  }
  gateway::WritePath::Batch batch;
  WriteAnswer refused;
  const std::optional<control::Stage> stage = WriteStage(ctx, &refused);
  if (!stage) {
    for (size_t i : written_at) answers[i] = refused;
    writes.clear();
  }
  const std::vector<Result<gateway::WriteOutcome>> outcomes =
      writes.empty() ? std::vector<Result<gateway::WriteOutcome>>{}
                     : gw->writes().WriteMany(*stage, entity, writes, &batch);
  for (size_t w = 0; w < outcomes.size(); ++w) {
    answers[written_at[w]] = AnswerWrite(ctx, *application, "POST", *e, writes[w].key, outcomes[w]);
  }
  const Status durable = gw->writes().AwaitBatch(batch);
  if (!durable.ok()) {
    spdlog::warn("POST {}: {}", req.path, RedactSecrets(durable.message()));
  }
  json results = json::array();
  int failed = 0;
  for (WriteAnswer& a : answers) {
    if (a.status == 200 && !durable.ok()) {
      // Written to the primary store, maybe, but not acknowledged: what the
      // journal holds of it is unknown.
      a = {503,
           {{"error",
             "not acknowledged: the gateway's journal failed before the write was "
             "durable: " +
                 RedactSecrets(durable.message())}}};
    }
    if (a.status != 200) ++failed;
    results.push_back({{"status", a.status}, {"body", std::move(a.body)}});
  }
  Reply(res, 200,
        {{"entity", entity},
         {"written", static_cast<int>(items.size()) - failed},
         {"failed", failed},
         {"results", results}});
}

// GET /v1/entities/{entity}/{key}: a read through the gateway
// (gateway/read_path.h), from the store the stage and the key's bucket pick.
void ReadEntity(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!RequireAuth(ctx, req, res)) return;
  const std::string entity = req.matches[1];
  const std::string key = req.matches[2];
  gateway::Gateway* gw = GatewayFor(ctx, entity, res);
  if (gw == nullptr) return;
  const std::optional<control::StageState> state = ctx.watcher().Current().state;
  if (!state) {
    return ReplyError(res, 503,
                      "the migration's stage has not been read from PostgreSQL yet, so which "
                      "store answers is unknown");
  }
  Result<gateway::ReadOutcome> out = gw->reads().Get(*state, entity, key);
  auto& m = ctx.metrics();
  if (!out.ok()) {
    const Status& st = out.status();
    spdlog::warn("GET {}: {}", req.path, RedactSecrets(st.message()));
    m.Add("cutover_gateway_reads_total", {entity, "postgres", "error"});
    return ReplyError(res, EntityErrorCode(st), RedactSecrets(st.message()));
  }
  if (out->legacy_seconds >= 0) {
    m.Observe("cutover_gateway_read_seconds", {entity, "legacy"}, out->legacy_seconds);
  }
  if (out->postgres_seconds >= 0) {
    m.Observe("cutover_gateway_read_seconds", {entity, "postgres"}, out->postgres_seconds);
  }
  const std::string served_by(control::StoreName(out->served_by));
  m.Add("cutover_gateway_reads_total", {entity, served_by,
                                        out->fell_back ? "fallback"
                                        : out->found   ? "found"
                                                       : "missing"});
  json body = {{"entity", entity},
               {"key", key},
               {"served_by", served_by},
               {"stage", control::StageName(state->stage)},
               {"shadowed", out->shadowed}};
  if (out->fell_back) body["fallback_reason"] = out->fallback_reason;
  if (!out->found) {
    body["error"] = "no record under this key";
    return Reply(res, 404, body);
  }
  body["record"] = AnswerRecord(*ctx.spec()->FindEntity(entity), out->document);
  Reply(res, 200, body);
}

// Per legacy file the gateway writes: its replaces and the writes they
// carried (writes / replaces is what the group commit saves).
json FileReplaces() {
  json out = json::object();
  for (const auto& f : stores::LegacyFileWrites()) {
    out[f.path] = {{"replaces", f.replaces}, {"writes", f.writes}};
  }
  return out;
}

// GET /v1/stats: the traffic runbook's dual-write statistics, per entity,
// and how each store answered.
json SyncRunJson(const std::optional<catalog::FileSyncRun>& run) {
  if (!run) return nullptr;
  return {{"id", run->id},
          {"started_at", run->started_at},
          {"finished_at", run->finished_at.empty() ? json(nullptr) : json(run->finished_at)},
          {"files_seen", run->files_seen},
          {"files_changed", run->files_changed},
          {"rows_applied", run->upserted},
          {"rows_deleted", run->deleted},
          {"rejected", run->rejected},
          {"error", run->error.empty() ? json(nullptr) : json(RedactSecrets(run->error))}};
}

// The file sync's status (the agriprofit runbook's /sync/status): the last
// pass and the last good one, from the catalog whoever ran them, and this
// process's schedule.
void GetSync(ServerContext& ctx, httplib::Response& res) {
  const auto migration = ctx.spec();
  FileSyncScheduler::State state;
  if (ctx.file_sync() != nullptr) state = ctx.file_sync()->state();
  auto lease = ctx.pool().Acquire();
  if (!lease.ok()) return ReplyError(res, 503, "PostgreSQL is unreachable");
  auto last = catalog::LatestFileSyncRun(lease->get(), migration->name);
  auto good = last.ok() ? catalog::LatestFileSyncRun(lease->get(), migration->name, true) : last;
  if (!last.ok() || !good.ok()) {
    lease->Discard();
    const Status& st = !last.ok() ? last.status() : good.status();
    spdlog::error("GET /v1/sync: {}", RedactSecrets(st.message()));
    return ReplyError(res, 503, "the sync runs could not be read; see the server log");
  }
  Reply(res, 200,
        {{"scheduled", state.scheduled},
         {"every_seconds", state.scheduled ? json(state.every_ms / 1000) : json(nullptr)},
         {"running", state.running},
         {"next_run", state.next_run.empty() ? json(nullptr) : json(state.next_run)},
         {"last_run", SyncRunJson(*last)},
         {"last_success", SyncRunJson(*good)},
         {"scheduler_error", state.last_error.empty() ? json(nullptr) : json(state.last_error)}});
}

void GetStats(ServerContext& ctx, httplib::Response& res) {
  const gateway::Gateway* gw = ctx.gateway();
  if (gw == nullptr) return ReplyError(res, 404, "this server runs no gateway");
  auto& m = ctx.metrics();
  json latency = json::object();
  for (const char* family : {"cutover_gateway_read_seconds", "cutover_gateway_write_seconds"}) {
    std::vector<double> bounds;
    json per = json::object();
    for (const auto& [labels, h] : m.Histogram(family, &bounds)) {
      auto ms = [&](double q) -> json {
        const double bound = h.UpperBoundOf(q, bounds);
        return std::isinf(bound) ? json("above " + std::to_string(bounds.back()) + " s")
                                 : json(bound * 1000);
      };
      per[labels[0]][labels[1]] = {{"count", h.count},
                                   {"mean_ms", h.count ? h.sum / h.count * 1000 : 0},
                                   {"p50_at_most_ms", ms(0.5)},
                                   {"p99_at_most_ms", ms(0.99)}};
    }
    latency[std::string(family) == "cutover_gateway_read_seconds" ? "reads" : "writes"] = per;
  }
  const gateway::JournalStats j = gw->journal_stats();
  const gateway::ReplayStats r = gw->replay_stats();
  const gateway::ShadowStats sh = gw->shadow_stats();
  json recent = json::array();
  for (const auto& x : sh.recent)
    recent.push_back({{"entity", x.entity}, {"key", x.key}, {"at", x.at}});
  json reads = json::object();
  for (const auto& [entity, c] : gw->read_totals()) {
    reads[entity] = {{"shadow_compared", c.shadow_reads},
                     {"shadow_mismatches", c.shadow_mismatches},
                     {"postgres_reads", c.postgres_reads},
                     {"fallbacks", c.fallbacks}};
  }
  Reply(res, 200,
        {{"origin", ctx.origin()},
         {"writes",
          {{"legacy_first", ctx.writes_legacy_first.load()},
           {"postgres_first", ctx.writes_postgres_first.load()},
           {"journaled", j.appended},
           {"replayed", r.landed},
           {"owed", j.owed},
           {"oldest_owed_seconds", j.oldest_owed_seconds},
           {"by_application", ctx.WritesByApplication()},
           {"dual_write_errors", r.failures},
           {"file_replaces", FileReplaces()},
           {"last_write", ctx.LastWrite().empty() ? json(nullptr) : json(ctx.LastWrite())}}},
         {"reads", reads},
         {"shadow",
          {{"compared", sh.compared},
           {"mismatched", sh.mismatched},
           {"skipped_in_flight", sh.in_flight},
           {"skipped_failed", sh.failed},
           {"skipped_queue_full", sh.dropped},
           {"recent_mismatches", recent}}},
         {"latency", latency}});
}

void PostReads(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!RequireAuth(ctx, req, res)) return;
  std::string problem;
  const std::optional<json> parsed = ReadObject(
      req, {"entity", "shadow_reads", "shadow_mismatches", "postgres_reads", "fallbacks"},
      R"({"entity": "users", "shadow_reads": 10})", &problem);
  if (!parsed) return ReplyError(res, 400, problem);
  const json& body = *parsed;
  const auto migration = ctx.spec();
  if (!body.contains("entity") || !body["entity"].is_string()) {
    return ReplyError(res, 400, "\"entity\" must be a string naming an entity of the spec");
  }
  const std::string entity = body["entity"].get<std::string>();
  if (migration->FindEntity(entity) == nullptr) {
    return ReplyError(res, 404, "no entity '" + entity + "' in the spec");
  }
  control::ReadCounts counts;
  for (auto [field, dest] : {std::pair{"shadow_reads", &counts.shadow_reads},
                             std::pair{"shadow_mismatches", &counts.shadow_mismatches},
                             std::pair{"postgres_reads", &counts.postgres_reads},
                             std::pair{"fallbacks", &counts.fallbacks}}) {
    const json v = body.contains(field) ? body[field] : json(0);
    // A bound far above any real count keeps the sums in bigint.
    constexpr int64_t kMaxCount = 1'000'000'000'000;
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > kMaxCount) ||
        (!v.is_number_unsigned() && (v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxCount))) {
      return ReplyError(
          res, 400, fmt::format("\"{}\" must be a whole number from 0 to {}", field, kMaxCount));
    }
    *dest = v.get<int64_t>();
  }
  if (counts.shadow_mismatches > counts.shadow_reads) {
    return ReplyError(res, 400, "\"shadow_mismatches\" cannot exceed \"shadow_reads\"");
  }
  if (counts.fallbacks > counts.postgres_reads) {
    return ReplyError(res, 400, "\"fallbacks\" cannot exceed \"postgres_reads\"");
  }
  auto lease = ctx.pool().Acquire();
  if (!lease.ok()) return ReplyError(res, 503, "PostgreSQL is unreachable");
  Status st = control::RecordReads(lease->get(), migration->name, entity, ctx.origin(), counts);
  if (!st.ok()) {
    lease->Discard();
    spdlog::error("POST /v1/reads: {}", RedactSecrets(st.message()));
    return ReplyError(res, 503, "the read statistics could not be stored; see the server log");
  }
  auto& m = ctx.metrics();
  m.Add("cutover_shadow_reads_total", {entity, "match"},
        static_cast<double>(counts.shadow_reads - counts.shadow_mismatches));
  m.Add("cutover_shadow_reads_total", {entity, "mismatch"},
        static_cast<double>(counts.shadow_mismatches));
  m.Add("cutover_reads_total", {entity, "postgres", "ok"},
        static_cast<double>(counts.postgres_reads - counts.fallbacks));
  m.Add("cutover_reads_total", {entity, "legacy", "fallback"},
        static_cast<double>(counts.fallbacks));
  Reply(res, 200, {{"recorded", true}});
}

// Gauges that describe the present are set at scrape time.
void RefreshGauges(ServerContext& ctx) {
  auto& m = ctx.metrics();
  const PgPool::Stats pool = ctx.pool().stats();
  m.Set("cutover_pg_pool_size", {}, pool.size);
  m.Set("cutover_pg_pool_connections", {"checked_in"}, pool.checked_in);
  m.Set("cutover_pg_pool_connections", {"checked_out"}, pool.checked_out);
  m.Set("cutover_pg_pool_connections", {"overflow"}, pool.overflow);
  m.Set("cutover_pg_pool_waiting", {}, pool.waiting);
  m.Set("cutover_pg_pool_wait_timeouts_total", {}, static_cast<double>(pool.timeouts));
  const auto snap = ctx.watcher().Current();
  for (control::Stage s : control::kAllStages) {
    m.Set("cutover_stage", {std::string(control::StageName(s))},
          snap.state && snap.state->stage == s ? 1 : 0);
  }
  m.Set("cutover_rollout_percent", {}, snap.state ? snap.state->percent : 0);
  m.Set("cutover_stage_version", {}, snap.state ? static_cast<double>(snap.state->version) : 0);
  m.Set("cutover_stage_age_seconds", {}, snap.age_seconds);
  m.Set("cutover_stage_fresh", {}, snap.fresh ? 1 : 0);
  m.Set("cutover_stage_listening", {}, snap.listening ? 1 : 0);
  m.Set("cutover_stage_reads_total", {"ok"}, static_cast<double>(snap.reads_ok));
  m.Set("cutover_stage_reads_total", {"error"}, static_cast<double>(snap.reads_failed));
  m.Set("cutover_stage_notifications_total", {}, static_cast<double>(snap.notifications));
  m.Set("cutover_stage_changes_total", {}, static_cast<double>(snap.changes));
  if (const gateway::Gateway* gw = ctx.gateway()) {
    const gateway::JournalStats j = gw->journal_stats();
    const gateway::ReplayStats r = gw->replay_stats();
    m.Set("cutover_gateway_journal_owed", {}, static_cast<double>(j.owed));
    m.Set("cutover_gateway_journal_appended_total", {}, static_cast<double>(j.appended));
    m.Set("cutover_gateway_journal_group_commits_total", {}, static_cast<double>(j.group_commits));
    m.Set("cutover_gateway_replay_landed_total", {}, static_cast<double>(r.landed));
    m.Set("cutover_gateway_replay_failures_total", {}, static_cast<double>(r.failures));
    const gateway::ShadowStats sh = gw->shadow_stats();
    m.Set("cutover_gateway_shadow_total", {"match"},
          static_cast<double>(sh.compared - sh.mismatched));
    m.Set("cutover_gateway_shadow_total", {"mismatch"}, static_cast<double>(sh.mismatched));
    m.Set("cutover_gateway_shadow_total", {"skipped_in_flight"}, static_cast<double>(sh.in_flight));
    m.Set("cutover_gateway_shadow_total", {"skipped_failed"}, static_cast<double>(sh.failed));
    m.Set("cutover_gateway_shadow_total", {"skipped_queue_full"}, static_cast<double>(sh.dropped));
    m.Set("cutover_gateway_journal_oldest_owed_seconds", {}, j.oldest_owed_seconds);
  }
  // What `cutover sync` processes recorded (cutover.sync_state), per source.
  auto lease = ctx.pool().Acquire();
  if (!lease.ok()) return;
  auto states = catalog::LoadSyncStates(lease->get(), ctx.spec()->name);
  if (!states.ok()) {
    lease->Discard();
    return;
  }
  for (const auto& st : *states) {
    m.Set("cutover_sync_gaps_total", {st.source}, static_cast<double>(st.gaps));
    m.Set("cutover_sync_repairs_total", {st.source}, static_cast<double>(st.repairs));
    m.Set("cutover_sync_changes_applied_total", {st.source},
          static_cast<double>(st.changes_applied));
    m.Set("cutover_sync_rows_deleted_total", {st.source}, static_cast<double>(st.rows_deleted));
    // Prometheus keeps `quantile` for summaries (which need a sum and a
    // count sync_state does not hold) and wants base units: two gauges in
    // seconds.
    if (st.lag_p50_ms) m.Set("cutover_sync_lag_p50_seconds", {st.source}, *st.lag_p50_ms / 1000);
    if (st.lag_p99_ms) m.Set("cutover_sync_lag_p99_seconds", {st.source}, *st.lag_p99_ms / 1000);
  }
  // The way back's slots, per entity: what they hold and what they carried.
  auto slots = catalog::LoadWayBacks(lease->get(), ctx.spec()->name);
  if (!slots.ok()) {
    lease->Discard();
    return;
  }
  for (const auto& w : *slots) {
    if (w.retained_wal) {
      m.Set("cutover_way_back_retained_wal_bytes", {w.state.entity},
            static_cast<double>(*w.retained_wal));
    }
    m.Set("cutover_way_back_changes_applied_total", {w.state.entity},
          static_cast<double>(w.state.changes_applied));
    if (w.state.lag_p99_ms) {
      m.Set("cutover_way_back_lag_p99_seconds", {w.state.entity}, *w.state.lag_p99_ms / 1000);
    }
  }
}

// The fixed paths routes answer; any other path is counted as "unmatched",
// so that a scan of random URLs cannot create series.
constexpr std::string_view kRoutes[] = {"/livez",    "/readyz",   "/health",
                                        "/metrics",  "/v1/stage", "/v1/route",
                                        "/v1/reads", "/v1/stats", "/openapi.json"};

std::string RouteLabel(const std::string& path) {
  if (path.starts_with("/v1/entities/")) return "/v1/entities";
  for (std::string_view r : kRoutes) {
    if (path == r) return std::string(r);
  }
  return "unmatched";
}

}  // namespace

void DeclareMetrics(ServerContext& ctx) {
  auto& m = ctx.metrics();
  using T = MetricType;
  m.Declare("cutover_build_info", T::kGauge, "Always 1; the version is a label.", {"version"});
  m.Set("cutover_build_info", {"0.1.0"}, 1);
  m.Declare("cutover_stage", T::kGauge, "1 for the stage this process sees, 0 for the others.",
            {"stage"});
  m.Declare("cutover_rollout_percent", T::kGauge, "Share of keys read from PostgreSQL (0-100).");
  m.Declare("cutover_stage_version", T::kGauge, "Applied stage transitions seen.");
  m.Declare("cutover_stage_age_seconds", T::kGauge,
            "Seconds since the stage was last read; -1 before the first read.");
  m.Declare("cutover_stage_fresh", T::kGauge, "1 when the stage was read within stale_after.");
  m.Declare("cutover_stage_listening", T::kGauge, "1 while the LISTEN connection is up.");
  m.Declare("cutover_stage_reads_total", T::kCounter, "Reads of the stage table, by result.",
            {"result"});
  m.Declare("cutover_stage_notifications_total", T::kCounter,
            "Stage change notifications received.");
  m.Declare("cutover_stage_changes_total", T::kCounter, "New stage versions installed.");
  m.Declare("cutover_pg_pool_size", T::kGauge, "Configured persistent pool connections.");
  m.Declare("cutover_pg_pool_connections", T::kGauge, "Pool connections by state.", {"state"});
  m.Declare("cutover_pg_pool_waiting", T::kGauge, "Requests waiting for a pool connection.");
  m.Declare("cutover_pg_pool_wait_timeouts_total", T::kCounter,
            "Requests that gave up waiting for a pool connection.");
  m.Declare("cutover_http_requests_total", T::kCounter,
            "HTTP requests by route and the status code sent (route \"unmatched\" for "
            "other paths).",
            {"route", "code"});
  m.Declare("cutover_route_decisions_total", T::kCounter,
            "GET /v1/route answers by entity and the store chosen.", {"entity", "store"});
  m.Declare("cutover_shadow_reads_total", T::kCounter,
            "Shadow reads reported, by entity and whether both stores agreed.",
            {"entity", "result"});
  m.Declare("cutover_gateway_journal_owed", T::kGauge,
            "Acknowledged gateway writes the secondary store does not hold yet.");
  m.Declare("cutover_gateway_journal_appended_total", T::kCounter,
            "Writes this gateway process made durable in its journal.");
  m.Declare("cutover_gateway_journal_group_commits_total", T::kCounter,
            "Journal syncs (fdatasync); appended / group commits is the batching.");
  m.Declare("cutover_gateway_replay_landed_total", T::kCounter,
            "Journaled writes the replayer landed in the secondary store.");
  m.Declare("cutover_gateway_replay_failures_total", T::kCounter,
            "Replayer attempts the secondary store refused or could not take.");
  m.Declare("cutover_gateway_journal_oldest_owed_seconds", T::kGauge,
            "Age of the oldest write the journal still owes; 0 when it owes none.");
  m.Declare("cutover_gateway_writes_total", T::kCounter,
            "Gateway writes acknowledged, by entity, the store that took them first, and the "
            "application (the name of the token it presented).",
            {"entity", "primary", "application"});
  m.Declare("cutover_gateway_reads_total", T::kCounter,
            "Gateway reads by entity, the store that answered, and the result (found, missing, "
            "fallback, error).",
            {"entity", "store", "result"});
  m.Declare("cutover_gateway_shadow_total", T::kCounter,
            "Shadow comparisons by result (match, mismatch, skipped_in_flight, skipped_failed, "
            "skipped_queue_full).",
            {"result"});
  m.DeclareHistogram("cutover_gateway_read_seconds",
                     "Time a store took to answer a gateway read, by entity and store.",
                     {"entity", "store"}, kLatencyBuckets);
  m.DeclareHistogram("cutover_gateway_write_seconds",
                     "Time a gateway write spent in each part: the legacy store (with its "
                     "read-back) and the journal (with its group commit).",
                     {"entity", "store"}, kLatencyBuckets);
  m.Declare("cutover_sync_gaps_total", T::kCounter,
            "Moments a sync's change stream may have missed a change (each repaired).", {"source"});
  m.Declare("cutover_sync_repairs_total", T::kCounter,
            "Reconciliations a sync ran (one at start, one per gap).", {"source"});
  m.Declare("cutover_sync_changes_applied_total", T::kCounter,
            "Key states a sync applied to PostgreSQL.", {"source"});
  m.Declare("cutover_sync_rows_deleted_total", T::kCounter,
            "Keys a sync found gone and deleted from PostgreSQL.", {"source"});
  m.Declare("cutover_sync_lag_p50_seconds", T::kGauge,
            "Median sync lag from a change's notification to its commit.", {"source"});
  m.Declare("cutover_sync_lag_p99_seconds", T::kGauge,
            "99th percentile sync lag from a change's notification to its commit.", {"source"});
  m.Declare("cutover_way_back_retained_wal_bytes", T::kGauge,
            "WAL the way back's replication slot keeps from recycling.", {"entity"});
  m.Declare("cutover_way_back_changes_applied_total", T::kCounter,
            "PostgreSQL changes the way back carried into the legacy store.", {"entity"});
  m.Declare("cutover_way_back_lag_p99_seconds", T::kGauge,
            "99th percentile way back lag from PostgreSQL's commit to the legacy store.",
            {"entity"});
  m.Declare("cutover_reads_total", T::kCounter,
            "Reads reported by entity, the store that answered, and the result.",
            {"entity", "store", "result"});
}

void InstallRoutes(httplib::Server& server, ServerContext& ctx) {
  server.Get("/livez", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz", [&ctx](const httplib::Request&, httplib::Response& res) {
    const Readiness r = CheckReady(ctx);
    Reply(res, r.ready ? 200 : 503, {{"ready", r.ready}, {"reasons", r.reasons}});
  });
  server.Get("/health", [&ctx](const httplib::Request&, httplib::Response& res) {
    // Always 200: the document reports; /readyz is the one that gates.
    Reply(res, 200, BuildHealth(ctx));
  });
  server.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    RefreshGauges(ctx);
    res.set_content(ctx.metrics().Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/v1/stage",
             [&ctx](const httplib::Request&, httplib::Response& res) { GetStage(ctx, res); });
  server.Get("/v1/route", [&ctx](const httplib::Request& req, httplib::Response& res) {
    GetRoute(ctx, req, res);
  });
  server.Post("/v1/stage", [&ctx](const httplib::Request& req, httplib::Response& res) {
    PostStage(ctx, req, res);
  });
  server.Get(
      R"(/v1/entities/([^/]+)/(.+))",
      [&ctx](const httplib::Request& req, httplib::Response& res) { ReadEntity(ctx, req, res); });
  server.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, OpenApiDocument());
  });
  server.Get("/v1/stats",
             [&ctx](const httplib::Request&, httplib::Response& res) { GetStats(ctx, res); });
  server.Get("/v1/sync",
             [&ctx](const httplib::Request&, httplib::Response& res) { GetSync(ctx, res); });
  server.Post(
      R"(/v1/entities/([^/:]+):batch)",
      [&ctx](const httplib::Request& req, httplib::Response& res) { WriteBatch(ctx, req, res); });
  server.Put(R"(/v1/entities/([^/]+)/(.+))",
             [&ctx](const httplib::Request& req, httplib::Response& res) {
               WriteEntity(ctx, req, res, EntityWrite::kPut);
             });
  server.Delete(R"(/v1/entities/([^/]+)/(.+))",
                [&ctx](const httplib::Request& req, httplib::Response& res) {
                  WriteEntity(ctx, req, res, EntityWrite::kDelete);
                });
  server.Patch(R"(/v1/entities/([^/]+)/(.+))",
               [&ctx](const httplib::Request& req, httplib::Response& res) {
                 WriteEntity(ctx, req, res, EntityWrite::kPatch);
               });
  server.Post("/v1/reads", [&ctx](const httplib::Request& req, httplib::Response& res) {
    PostReads(ctx, req, res);
  });
  // The answers httplib makes itself (404, 413, 400 for a bad request line)
  // are JSON like ours.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 413
                                    ? fmt::format("the body is larger than {} bytes", kMaxBodyBytes)
                                : res.status == 404 ? std::string("no such path")
                                                    : fmt::format("HTTP {}", res.status);
    Reply(res, res.status, {{"error", message}});
  });
  // Counted once the answer is written, with the status actually sent, so
  // answers httplib makes itself (404, 413, 400) are counted too.
  server.set_logger([&ctx](const httplib::Request& req, const httplib::Response& res) {
    ctx.metrics().Add("cutover_http_requests_total",
                      {RouteLabel(req.path), std::to_string(res.status)});
  });
  server.set_payload_max_length(kMaxBodyBytes);
}

}  // namespace cutover::server
