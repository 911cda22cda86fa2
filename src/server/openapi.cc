// The OpenAPI 3 document of the HTTP API, built once.
#include "server/openapi.h"

#include <string>
#include <vector>

namespace cutover::server {
namespace {

using nlohmann::json;

// A JSON object schema whose answers always have `required`.
json Object(const std::vector<std::string>& required) {
  json props = json::object();
  for (const auto& r : required) props[r] = json::object();
  return {{"type", "object"}, {"required", required}, {"properties", props}};
}

json JsonAnswer(const std::string& description, const std::vector<std::string>& required) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", Object(required)}}}}}};
}

json ErrorAnswer(const std::string& description) {
  return {
      {"description", description},
      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json Operation(const std::string& summary, json responses, json example, bool auth = false) {
  json op = {{"summary", summary}, {"responses", std::move(responses)}};
  if (auth) op["security"] = json::array({{{"bearer", json::array()}}});
  op["x-cutover-example"] = std::move(example);
  return op;
}

json Example(const std::string& path, json body = nullptr, bool auth = false) {
  json e = {{"path", path}, {"auth", auth}};
  if (!body.is_null()) e["body"] = std::move(body);
  return e;
}

const std::vector<std::string> kWriteFields = {"entity",  "key",         "deleted", "record",
                                               "version", "journal_seq", "stores"};

json EntityPathParams() {
  return json::array(
      {{{"name", "entity"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}},
       {{"name", "key"},
        {"in", "path"},
        {"required", true},
        {"description", "the legacy store's key, e.g. u:ada@example.org"},
        {"schema", {{"type", "string"}}}}});
}

json Build() {
  json paths = json::object();
  paths["/livez"]["get"] =
      Operation("Liveness: the process answers.",
                {{"200", {{"description", "ok"}, {"content", {{"text/plain", json::object()}}}}}},
                Example("/livez"));
  paths["/readyz"]["get"] =
      Operation("Readiness: the stage is fresh and the stores answer.",
                {{"200", JsonAnswer("ready", {"ready", "reasons"})},
                 {"503", JsonAnswer("not ready, with the reasons", {"ready", "reasons"})}},
                Example("/readyz"));
  paths["/health"]["get"] = Operation("Everything the server knows about its parts; always 200.",
                                      {{"200", JsonAnswer("the report", {})}}, Example("/health"));
  paths["/metrics"]["get"] = Operation(
      "Prometheus text exposition (version 0.0.4).",
      {{"200", {{"description", "metrics"}, {"content", {{"text/plain", json::object()}}}}}},
      Example("/metrics"));
  paths["/openapi.json"]["get"] =
      Operation("This document.", {{"200", JsonAnswer("OpenAPI 3", {"openapi", "paths"})}},
                Example("/openapi.json"));
  paths["/v1/stage"]["get"] =
      Operation("The migration's stage as this process sees it.",
                {{"200", JsonAnswer("the stage", {"stage", "percent", "version", "writes", "flags",
                                                  "migration", "fresh", "age_seconds"})},
                 {"503", ErrorAnswer("the stage has not been read yet")}},
                Example("/v1/stage"));
  paths["/v1/stage"]["post"] = Operation(
      "Move the migration to a stage (guards apply unless forced; audited).",
      {{"200", JsonAnswer("moved", {"applied", "forced", "from", "to", "guards"})},
       {"400", ErrorAnswer("a malformed request, or an illegal move")},
       {"401", ErrorAnswer("no valid bearer token")},
       {"409", JsonAnswer("a guard is unmet", {"applied", "forced", "from", "to", "guards"})},
       {"503", ErrorAnswer("PostgreSQL is unreachable")}},
      Example("/v1/stage", {{"stage", "legacy"}, {"reason", "openapi check"}}, true), true);
  paths["/v1/route"]["get"] = Operation(
      "Which store a read of this key comes from now.",
      {{"200", JsonAnswer("the decision", {"entity", "key", "stage", "percent", "version", "bucket",
                                           "read_from", "shadow", "fallback_to_legacy", "fresh"})},
       {"400", ErrorAnswer("entity or key missing")},
       {"404", ErrorAnswer("no such entity")},
       {"503", ErrorAnswer("the stage has not been read yet")}},
      Example("/v1/route?entity=users&key=u:ada@example.org"));
  paths["/v1/route"]["get"]["parameters"] = json::array(
      {{{"name", "entity"}, {"in", "query"}, {"required", true}, {"schema", {{"type", "string"}}}},
       {{"name", "key"}, {"in", "query"}, {"required", true}, {"schema", {{"type", "string"}}}}});
  paths["/v1/reads"]["post"] =
      Operation("Report read outcomes an application measured itself (the stage guards read them).",
                {{"200", JsonAnswer("recorded", {"recorded"})},
                 {"400", ErrorAnswer("a malformed report")},
                 {"401", ErrorAnswer("no valid bearer token")},
                 {"404", ErrorAnswer("no such entity")},
                 {"503", ErrorAnswer("PostgreSQL is unreachable")}},
                Example("/v1/reads", {{"entity", "users"}, {"shadow_reads", 1}}, true), true);
  paths["/v1/stats"]["get"] = Operation(
      "The gateway's dual-write statistics: writes per store, journal debt, shadow results, "
      "latency per store.",
      {{"200", JsonAnswer("statistics", {"origin", "writes", "reads", "shadow", "latency"})},
       {"404", ErrorAnswer("this server runs no gateway")}},
      Example("/v1/stats"));

  paths["/v1/sync"]["get"] = Operation(
      "The file sync: its last pass and last good pass (whoever ran them), and this server's "
      "schedule (`sync.every`), next pass included.",
      {{"200", JsonAnswer("status", {"scheduled", "every_seconds", "running", "next_run",
                                     "last_run", "last_success"})},
       {"503", ErrorAnswer("PostgreSQL is unreachable")}},
      Example("/v1/sync"));

  const std::string entity_path = "/v1/entities/{entity}/{key}";
  const std::string example_key = "/v1/entities/users/u:ada@example.org";
  json& e = paths[entity_path];
  e["parameters"] = EntityPathParams();
  e["get"] = Operation(
      "Read a record from the store the stage picks (shadowed or falling back as it says).",
      {{"200",
        JsonAnswer("the record", {"entity", "key", "served_by", "stage", "shadowed", "record"})},
       {"401", ErrorAnswer("no valid bearer token")},
       {"404", JsonAnswer("no such entity, or no record under the key", {"error"})},
       {"409", ErrorAnswer("the entity's rows cannot be turned back into records")},
       {"503",
        ErrorAnswer("a store is unreachable or refuses cutover's login, or the stage unknown")}},
      Example(example_key, nullptr, true), true);
  e["put"] = Operation(
      "Write a record whole: the primary store, then the journal, then the answer.",
      {{"200", JsonAnswer("written", kWriteFields)},
       {"400", ErrorAnswer("a malformed record")},
       {"401", ErrorAnswer("no valid bearer token")},
       {"404", ErrorAnswer("no such entity")},
       {"409", ErrorAnswer("the store refused the write")},
       {"503",
        ErrorAnswer(
            "the primary store is unreachable or refuses cutover's login, or the stage unknown")}},
      Example(example_key, {{"value", {{"name", "Ada"}}}, {"expires_at", nullptr}}, true), true);
  e["put"]["requestBody"] = {
      {"required", true},
      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Record"}}}}}}}};
  e["patch"] = Operation(
      "Change a record in place (an increment, fields set); journaled as the state it makes.",
      {{"200", JsonAnswer("changed", kWriteFields)},
       {"400", ErrorAnswer("a change the key's kind does not take")},
       {"401", ErrorAnswer("no valid bearer token")},
       {"404", ErrorAnswer("no such entity")},
       {"409", ErrorAnswer("the store refused the change")},
       {"503",
        ErrorAnswer(
            "the primary store is unreachable or refuses cutover's login, or the stage unknown")}},
      Example(example_key, {{"set", {{"name", "Ada L."}}}}, true), true);
  e["delete"] = Operation("Delete a record.",
                          {{"200", JsonAnswer("deleted", kWriteFields)},
                           {"401", ErrorAnswer("no valid bearer token")},
                           {"404", ErrorAnswer("no such entity")},
                           {"503", ErrorAnswer("the primary store is unreachable")}},
                          Example(example_key, nullptr, true), true);
  json& batch = paths["/v1/entities/{entity}:batch"];
  batch["parameters"] = json::array({EntityPathParams()[0]});
  batch["post"] = Operation("Several writes of one entity, each applied in order as its own write.",
                            {{"200", JsonAnswer("each write's status and body",
                                                {"entity", "written", "failed", "results"})},
                             {"400", ErrorAnswer("a malformed batch; nothing was written")},
                             {"401", ErrorAnswer("no valid bearer token")},
                             {"404", ErrorAnswer("no such entity")}},
                            Example("/v1/entities/users:batch",
                                    {{"writes",
                                      {{{"op", "put"},
                                        {"key", "u:grace@example.org"},
                                        {"body", {{"value", {{"name", "Grace"}}}}}},
                                       {{"op", "delete"}, {"key", "u:grace@example.org"}}}}},
                                    true),
                            true);

  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "cutover serve"},
            {"version", "0.1.0"},
            {"description",
             "The control API of a migration (stage, routing, read reports) and the dual-write "
             "gateway (entity reads and writes). Every answer is JSON except /livez and /metrics; "
             "errors are {\"error\": message}."}}},
          {"paths", paths},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas",
             {{"Error", Object({"error"})},
              {"Record",
               {{"type", "object"},
                {"required", {"value"}},
                {"properties",
                 {{"value", {{"description", "the key's value as its kind holds it"}}},
                  {"expires_at",
                   {{"type", "string"}, {"format", "date-time"}, {"nullable", true}}}}}}}}}}}};
}

}  // namespace

const nlohmann::json& OpenApiDocument() {
  static const nlohmann::json* document = new nlohmann::json(Build());
  return *document;
}

}  // namespace cutover::server
