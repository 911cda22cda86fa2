// Reads cutover.yaml into a validated MigrationSpec. Every error a user can
// cause names the offending key and its position as file:line:column.
#include "spec/spec_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/value_type.h"
#include "spec/env_expand.h"
#include "spec/nearest_name.h"

namespace cutover::spec {
namespace {

namespace fs = std::filesystem;

// PostgreSQL keeps NAMEDATALEN - 1 bytes of an identifier and silently
// truncates the rest, so two long names could land on the same table.
constexpr size_t kMaxIdentifierBytes = 63;

std::string Quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string JoinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::vector<std::string_view> ColumnNames(const EntitySpec& entity) {
  std::vector<std::string_view> names;
  for (const ColumnSpec& c : entity.columns) names.push_back(c.name);
  return names;
}

// "; did you mean 'x'?" when something is close, else the full list, so a
// message always tells the user what would have been accepted.
std::string Hint(std::string_view given, const std::vector<std::string_view>& valid) {
  const std::string nearest = NearestName(given, valid);
  if (!nearest.empty()) return "; did you mean " + Quote(nearest) + "?";
  if (valid.empty()) return "";
  return "; expected one of: " + JoinNames(valid);
}

std::string Lowercase(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// A key of a mapping together with its value; the key carries the position
// of the declaration, the value that of what was written for it.
struct Field {
  std::string name;
  YAML::Node key;
  YAML::Node value;
};

// A mapping whose keys were checked to be plain, unique names.
class Fields {
 public:
  void Add(Field f) { entries_.push_back(std::move(f)); }

  // Null when the key is absent or its value is empty (`key:` or `key: ~`):
  // an optional key left empty means "use the default".
  const Field* Find(std::string_view name) const {
    const Field* f = FindAny(name);
    return (f != nullptr && !f->value.IsNull()) ? f : nullptr;
  }
  const Field* FindAny(std::string_view name) const {
    for (const Field& f : entries_) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  const std::vector<Field>& entries() const { return entries_; }

 private:
  std::vector<Field> entries_;
};

// A scalar value as written and as expanded.
struct Scalar {
  std::string raw;    // the file's text: safe to quote in messages
  std::string value;  // after ${VAR} expansion: may be a secret, never quoted
  YAML::Mark mark;
  // Suggestions are computed from `value`, so they are skipped when it came
  // from the environment.
  bool from_env() const { return raw.find('$') != std::string::npos; }
};

class Loader {
 public:
  Loader(std::string file, fs::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  Result<MigrationSpec> Load(const YAML::Node& root) {
    MigrationSpec spec;
    spec.spec_path = file_;
    spec.base_dir = base_dir_.string();

    if (!root.IsMap()) {
      return Error(root.Mark(),
                   "the spec must be a mapping with keys such as 'migration', 'sources' and "
                   "'entities'");
    }
    const Field root_field{"", YAML::Node(), root};
    const std::string ctx = "the spec";
    ASSIGN_OR_RETURN(const Fields top,
                     ReadFields(root_field, ctx,
                                {"migration", "target", "work_dir", "sources", "backfill", "verify",
                                 "stages", "serve", "sync", "entities", "audit"}));

    ASSIGN_OR_RETURN(const Field* migration, Require(top, "migration", root_field, ctx));
    ASSIGN_OR_RETURN(const Scalar name, ReadScalar(*migration, ctx));
    if (name.value.empty()) return Error(name.mark, "'migration' must not be empty");
    spec.name = name.value;

    if (const Field* f = top.Find("work_dir")) {
      ASSIGN_OR_RETURN(spec.work_dir, ReadPath(*f, ctx, base_dir_));
    } else {
      spec.work_dir = Normalize(base_dir_ / ".cutover").string();
    }

    if (const Field* f = top.Find("target")) {
      RETURN_IF_ERROR(ParseTarget(*f, spec.target));
    } else {
      spec.target.where = Where(root.Mark());
    }

    ASSIGN_OR_RETURN(const Field* sources, Require(top, "sources", root_field, ctx));
    RETURN_IF_ERROR(ParseSources(*sources, spec));

    spec.backfill.reject_file = Normalize(fs::path(spec.work_dir) / "rejects.jsonl").string();
    if (const Field* f = top.Find("backfill")) {
      RETURN_IF_ERROR(ParseBackfill(*f, spec.work_dir, spec.backfill));
    }
    if (const Field* f = top.Find("verify")) RETURN_IF_ERROR(ParseVerify(*f, spec.verify));
    if (const Field* f = top.Find("stages")) RETURN_IF_ERROR(ParseStages(*f, spec.stages));
    if (const Field* f = top.Find("serve")) RETURN_IF_ERROR(ParseServe(*f, spec.serve));
    if (const Field* f = top.Find("sync")) RETURN_IF_ERROR(ParseSync(*f, spec.sync));

    // Optional so that `cutover inspect` can run on a spec that only names
    // its sources yet, to propose entities.
    if (const Field* f = top.Find("entities")) {
      ASSIGN_OR_RETURN(const Fields entities,
                       ReadNamedMap(*f, "'entities'", "entity", "'entities'"));
      for (const Field& e : entities.entries()) {
        EntitySpec entity;
        RETURN_IF_ERROR(ParseEntity(e, spec, nullptr, entity));
        spec.entities.push_back(std::move(entity));
      }
    }
    RETURN_IF_ERROR(CheckLookups(spec));
    RETURN_IF_ERROR(CheckReferences(spec));
    // After the entities: the audit's limits name them.
    if (const Field* f = top.Find("audit")) RETURN_IF_ERROR(ParseAudit(*f, spec));
    std::stable_sort(
        spec.entities.begin(), spec.entities.end(),
        [](const EntitySpec& a, const EntitySpec& b) { return a.priority < b.priority; });
    return spec;
  }

 private:
  Location Where(const YAML::Mark& mark) const {
    // yaml-cpp counts from 0 and uses -1 for "no position" (an empty document).
    return Location{file_, std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1};
  }

  Status Error(const YAML::Mark& mark, const std::string& message) const {
    return InvalidArgument(Where(mark).ToString() + ": " + message);
  }

  // Where to point for a problem with a field's value: the value itself when
  // it was written, else its key (`key:` with nothing after it).
  static YAML::Mark MarkOf(const Field& f) {
    if (f.value.IsDefined() && !f.value.IsNull() && !f.value.Mark().is_null()) {
      return f.value.Mark();
    }
    return f.key.Mark();
  }

  static std::string What(const Field& f, std::string_view ctx) {
    return Quote(f.name) + " in " + std::string(ctx);
  }

  static std::string_view KindName(const YAML::Node& node) {
    if (node.IsMap()) return "a mapping";
    if (node.IsSequence()) return "a list";
    if (node.IsNull()) return "empty";
    return "a single value";
  }

  // Collects the entries of a mapping, refusing non-scalar and repeated
  // keys: yaml-cpp keeps both copies of a repeated key and would otherwise
  // let the first silently win.
  Result<Fields> CollectMap(const Field& owner, std::string_view what, std::string_view noun,
                            std::string_view dup_ctx) {
    if (!owner.value.IsMap()) {
      return Error(MarkOf(owner), std::string(what) + " must be a mapping, not " +
                                      std::string(KindName(owner.value)));
    }
    Fields fields;
    for (auto it = owner.value.begin(); it != owner.value.end(); ++it) {
      const YAML::Node key = it->first;
      // YAML reads a plain `null` (or `~`) key as null, but a user writing
      // `csv: { null: NA }` means the name.
      const bool null_key = key.IsNull() && !key.Mark().is_null();
      if (!key.IsScalar() && !null_key) {
        return Error(key.Mark(), "keys in " + std::string(what) + " must be plain names, not " +
                                     std::string(KindName(key)));
      }
      const std::string name = null_key ? "null" : key.Scalar();
      if (const Field* first = fields.FindAny(name)) {
        return Error(key.Mark(), "duplicate " + std::string(noun) + " " + Quote(name) + " in " +
                                     std::string(dup_ctx) + "; first declared at " +
                                     Where(first->key.Mark()).ToString());
      }
      fields.Add(Field{name, key, it->second});
    }
    return fields;
  }

  // A mapping with a fixed set of keys; `ctx` names it in messages
  // ("entity 'users'").
  Result<Fields> ReadFields(const Field& owner, const std::string& ctx,
                            std::initializer_list<std::string_view> allowed) {
    ASSIGN_OR_RETURN(Fields fields, CollectMap(owner, ctx, "key", ctx));
    const std::vector<std::string_view> valid(allowed);
    for (const Field& f : fields.entries()) {
      if (std::find(valid.begin(), valid.end(), f.name) == valid.end()) {
        return Error(f.key.Mark(),
                     "unknown key " + Quote(f.name) + " in " + ctx + Hint(f.name, valid));
      }
    }
    return fields;
  }

  // A mapping from user-chosen names (sources, entities, columns) to values;
  // `what` names the mapping, `dup_ctx` the scope a name must be unique in.
  Result<Fields> ReadNamedMap(const Field& owner, const std::string& what, std::string_view noun,
                              const std::string& dup_ctx) {
    return CollectMap(owner, what, noun, dup_ctx);
  }

  Result<const Field*> Require(const Fields& fields, std::string_view name, const Field& owner,
                               const std::string& ctx) {
    const Field* f = fields.FindAny(name);
    if (f == nullptr) {
      // Point at where the owner is declared ("users:"), not at its first key.
      const YAML::Mark at = owner.key.Mark().is_null() ? MarkOf(owner) : owner.key.Mark();
      return Error(at, "missing required key " + Quote(name) + " in " + ctx);
    }
    if (f->value.IsNull()) return Error(f->key.Mark(), What(*f, ctx) + " must not be empty");
    return f;
  }

  Result<Scalar> ReadScalar(const Field& f, const std::string& ctx) {
    if (!f.value.IsScalar()) {
      return Error(MarkOf(f),
                   What(f, ctx) + " must be a single value, not " + std::string(KindName(f.value)));
    }
    return ExpandScalar(f.value, What(f, ctx));
  }

  Result<Scalar> ExpandScalar(const YAML::Node& node, const std::string& what) {
    Scalar s;
    s.raw = node.Scalar();
    s.mark = node.Mark();
    ASSIGN_OR_RETURN(s.value, ExpandEnv(s.raw, Where(s.mark), what));
    return s;
  }

  Result<int64_t> ReadInt(const Field& f, const std::string& ctx) {
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(f, ctx));
    int64_t out = 0;
    const char* end = s.value.data() + s.value.size();
    const auto [ptr, ec] = std::from_chars(s.value.data(), end, out);
    if (ec != std::errc() || ptr != end || s.value.empty()) {
      return Error(s.mark, What(f, ctx) + " must be an integer, not " + Quote(s.raw));
    }
    return out;
  }

  Result<double> ReadDouble(const Field& f, const std::string& ctx) {
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(f, ctx));
    double out = 0;
    const char* end = s.value.data() + s.value.size();
    const auto [ptr, ec] = std::from_chars(s.value.data(), end, out);
    if (ec != std::errc() || ptr != end || s.value.empty() || !std::isfinite(out)) {
      return Error(s.mark, What(f, ctx) + " must be a number, not " + Quote(s.raw));
    }
    return out;
  }

  Result<bool> ReadBool(const Field& f, const std::string& ctx) {
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(f, ctx));
    const std::string v = Lowercase(s.value);
    if (v == "true") return true;
    if (v == "false") return false;
    return Error(s.mark, What(f, ctx) + " must be true or false, not " + Quote(s.raw));
  }

  // A path resolved against `base`, absolute and normalized without a
  // trailing separator, so that equal paths compare equal.
  Result<std::string> ReadPath(const Field& f, const std::string& ctx, const fs::path& base) {
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(f, ctx));
    if (s.value.empty()) return Error(s.mark, What(f, ctx) + " must not be empty");
    return Normalize(base / fs::path(s.value)).string();
  }

  static fs::path Normalize(const fs::path& p) {
    fs::path out = p.lexically_normal();
    if (!out.has_filename() && !out.relative_path().empty()) out = out.parent_path();
    return out;
  }

  Status CheckIdentifier(const std::string& name, const YAML::Mark& mark, const std::string& what) {
    if (name.empty()) return Error(mark, what + " must not be empty");
    if (name.size() > kMaxIdentifierBytes) {
      return Error(mark, what + " " + Quote(name) + ": identifier longer than 63 bytes (" +
                             std::to_string(name.size()) + " bytes)");
    }
    return Status::Ok();
  }

  // "a.b.c": no empty segments, since they cannot address anything.
  Status CheckDottedPath(const Scalar& s, const std::string& what) {
    if (s.value.empty()) return Error(s.mark, what + " must not be empty");
    size_t start = 0;
    while (true) {
      const size_t dot = s.value.find('.', start);
      const size_t len = (dot == std::string::npos ? s.value.size() : dot) - start;
      if (len == 0) {
        return Error(s.mark, what + ": " + Quote(s.raw) + " has an empty path segment");
      }
      if (dot == std::string::npos) return Status::Ok();
      start = dot + 1;
    }
  }

  Status UnknownChoice(const Scalar& s, const std::string& what, std::string_view noun,
                       const std::vector<std::string_view>& valid) {
    std::string message = what + ": unknown " + std::string(noun) + " " + Quote(s.raw);
    if (s.from_env()) {
      message += "; expected one of: " + JoinNames(valid);
    } else {
      message += Hint(s.value, valid);
    }
    return Error(s.mark, message);
  }

  Status ParseTarget(const Field& f, TargetSpec& target) {
    const std::string ctx = "'target'";
    target.where = Where(f.key.Mark());
    ASSIGN_OR_RETURN(const Fields fields, ReadFields(f, ctx, {"url"}));
    if (const Field* url = fields.Find("url")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*url, ctx));
      target.where = Where(s.mark);
      target.url_text = s.raw;
      // Empty is not an error here: rehearse and --scratch need no url, and
      // the commands that do need one say which variable to set.
      if (!s.value.empty()) target.url = s.value;
    }
    return Status::Ok();
  }

  Status ParseSources(const Field& f, MigrationSpec& spec) {
    ASSIGN_OR_RETURN(const Fields sources, ReadNamedMap(f, "'sources'", "source", "'sources'"));
    if (sources.entries().empty())
      return Error(MarkOf(f), "'sources' must name at least one source");
    for (const Field& sf : sources.entries()) {
      SourceSpec source;
      source.name = sf.name;
      source.where = Where(sf.key.Mark());
      if (source.name.empty()) return Error(sf.key.Mark(), "source names must not be empty");
      const std::string ctx = "source " + Quote(sf.name);
      ASSIGN_OR_RETURN(const Fields fields,
                       ReadFields(sf, ctx,
                                  {"type", "path", "layout", "csv", "on_missing_column", "timezone",
                                   "url", "tls", "archive", "user", "password", "precision",
                                   "row_limit", "poll", "lateness"}));

      ASSIGN_OR_RETURN(const Field* type, Require(fields, "type", sf, ctx));
      ASSIGN_OR_RETURN(const Scalar type_value, ReadScalar(*type, ctx));
      source.type = Lowercase(type_value.value);
      if (source.type != "json" && source.type != "parquet" && source.type != "csv" &&
          source.type != "redis" && source.type != "iotdb") {
        return UnknownChoice(type_value, What(*type, ctx), "source type",
                             {"json", "parquet", "csv", "redis", "iotdb"});
      }
      if (source.type == "iotdb") {
        RETURN_IF_ERROR(ParseIotdbSource(sf, fields, ctx, source));
        spec.sources.push_back(std::move(source));
        continue;
      }
      for (const char* iotdb_only :
           {"user", "password", "precision", "row_limit", "poll", "lateness"}) {
        if (const Field* field = fields.FindAny(iotdb_only)) {
          return Error(field->key.Mark(), What(*field, ctx) + " applies to iotdb sources only; " +
                                              "this one is " + source.type);
        }
      }
      for (const char* redis_only : {"url", "tls"}) {
        const Field* field = fields.FindAny(redis_only);
        if (field && source.type != "redis") {
          return Error(field->key.Mark(), What(*field, ctx) + " applies to redis sources only; " +
                                              "this one is " + source.type + " (give it a 'path')");
        }
      }
      if (source.type == "redis") {
        RETURN_IF_ERROR(ParseRedisSource(sf, fields, ctx, source));
        spec.sources.push_back(std::move(source));
        continue;
      }
      // Options of another format are a mistake, not something to ignore.
      if (const Field* layout = fields.FindAny("layout"); layout && source.type != "json") {
        return Error(layout->key.Mark(), What(*layout, ctx) + " applies to json sources only; " +
                                             "this one is " + source.type);
      }
      if (const Field* csv = fields.FindAny("csv")) {
        if (source.type != "csv") {
          return Error(csv->key.Mark(), What(*csv, ctx) + " applies to csv sources only; " +
                                            "this one is " + source.type);
        }
        if (!csv->value.IsNull()) RETURN_IF_ERROR(ParseCsvOptions(*csv, ctx, source.csv));
      }
      if (const Field* archive = fields.FindAny("archive")) {
        if (source.type != "parquet") {
          return Error(
              archive->key.Mark(),
              What(*archive, ctx) + " applies to parquet sources only; this one is " + source.type);
        }
        if (!archive->value.IsNull()) {
          RETURN_IF_ERROR(ParseArchiveOptions(*archive, ctx, source.archive));
        }
      }

      if (const Field* missing = fields.FindAny("on_missing_column")) {
        if (source.type == "json") {
          return Error(missing->key.Mark(),
                       What(*missing, ctx) + " applies to parquet and csv sources only");
        }
        // YAML reads a bare `null` as no value: that is the spelling users write.
        const bool null_value = missing->value.IsNull();
        Scalar s;
        if (!null_value) {
          ASSIGN_OR_RETURN(s, ReadScalar(*missing, ctx));
        }
        if (null_value || s.value == "null") {
          source.on_missing_column = SourceSpec::OnMissingColumn::kNull;
        } else if (s.value == "error") {
          source.on_missing_column = SourceSpec::OnMissingColumn::kError;
        } else {
          return UnknownChoice(s, What(*missing, ctx), "on_missing_column", {"error", "null"});
        }
      }

      ASSIGN_OR_RETURN(const Field* path, Require(fields, "path", sf, ctx));
      ASSIGN_OR_RETURN(source.path, ReadPath(*path, ctx, base_dir_));

      if (const Field* layout = fields.Find("layout")) {
        ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*layout, ctx));
        static const std::vector<std::pair<std::string_view, JsonLayout>> kLayouts = {
            {"auto", JsonLayout::kAuto},
            {"array", JsonLayout::kArray},
            {"object", JsonLayout::kObject},
            {"lines", JsonLayout::kLines}};
        bool found = false;
        for (const auto& [spelling, value] : kLayouts) {
          if (s.value == spelling) {
            source.layout = value;
            found = true;
          }
        }
        if (!found) {
          return UnknownChoice(s, What(*layout, ctx), "layout",
                               {"auto", "array", "object", "lines"});
        }
      }
      if (const Field* tz = fields.Find("timezone")) {
        ASSIGN_OR_RETURN(source.timezone, ReadTimeZone(*tz, ctx));
      }
      spec.sources.push_back(std::move(source));
    }
    return Status::Ok();
  }

  // A redis source: `url:` (required; ${VAR} for the password) and nothing
  // of the file sources.
  Status ParseArchiveOptions(const Field& f, const std::string& source_ctx,
                             SourceSpec::Archive& out) {
    const std::string ctx = What(f, source_ctx);
    ASSIGN_OR_RETURN(const Fields fields, ReadFields(f, ctx, {"flush_interval", "flush_rows"}));
    if (const Field* i = fields.Find("flush_interval")) {
      ASSIGN_OR_RETURN(out.flush_interval_ms, ReadDurationMs(*i, ctx));
    }
    if (const Field* r = fields.Find("flush_rows")) {
      ASSIGN_OR_RETURN(out.flush_rows, ReadInt(*r, ctx));
      if (out.flush_rows < 1) {
        return Error(MarkOf(*r), What(*r, ctx) + " must be at least 1");
      }
    }
    return Status::Ok();
  }

  // An iotdb source: its REST service (`url`, with `user` and `password`)
  // or its export tool's CSV files (`path`), never both; `precision` and
  // `row_limit` as the server is configured.
  Status ParseIotdbSource(const Field& sf, const Fields& fields, const std::string& ctx,
                          SourceSpec& source) {
    for (const char* other : {"layout", "csv", "on_missing_column", "tls", "archive"}) {
      if (const Field* f = fields.FindAny(other)) {
        return Error(f->key.Mark(), What(*f, ctx) + " does not apply to iotdb sources");
      }
    }
    if (const Field* tz = fields.FindAny("timezone")) {
      return Error(tz->key.Mark(), What(*tz, ctx) +
                                       " does not apply to iotdb sources: their times are epochs, "
                                       "or ISO 8601 with the UTC offset the export tool writes");
    }
    const Field* url = fields.Find("url");
    const Field* path = fields.Find("path");
    if ((url == nullptr) == (path == nullptr)) {
      return Error(sf.key.Mark(),
                   ctx +
                       " needs either 'url' (IoTDB's REST service, http://host:18080) or "
                       "'path' (CSV files of IoTDB's export tool), and not both");
    }
    if (url != nullptr) {
      ASSIGN_OR_RETURN(const Scalar u, ReadScalar(*url, ctx));
      if (!u.value.starts_with("http://") && !u.value.starts_with("https://")) {
        return Error(u.mark, What(*url, ctx) +
                                 " must start with http:// or https:// (IoTDB's REST service, "
                                 "rest_service_port, 18080 by default)");
      }
      source.url = u.value;
      source.url_text = u.raw;
      while (source.url.ends_with("/")) source.url.pop_back();
    } else {
      ASSIGN_OR_RETURN(source.path, ReadPath(*path, ctx, base_dir_));
      for (const char* rest_only : {"user", "password", "row_limit", "poll", "lateness"}) {
        if (const Field* f = fields.FindAny(rest_only)) {
          return Error(f->key.Mark(), What(*f, ctx) + " applies to an iotdb source read over " +
                                          "REST ('url'); this one reads CSV files ('path')");
        }
      }
    }
    if (const Field* user = fields.Find("user")) {
      ASSIGN_OR_RETURN(const Scalar u, ReadScalar(*user, ctx));
      if (u.value.empty()) return Error(u.mark, What(*user, ctx) + " must not be empty");
      if (u.value.find(':') != std::string::npos) {
        return Error(u.mark,
                     What(*user, ctx) + " cannot hold ':' (IoTDB's Basic auth splits on it)");
      }
      source.iotdb.user = u.value;
    }
    if (const Field* password = fields.Find("password")) {
      ASSIGN_OR_RETURN(const Scalar p, ReadScalar(*password, ctx));
      source.iotdb.password = p.value;
    }
    if (const Field* precision = fields.Find("precision")) {
      ASSIGN_OR_RETURN(const Scalar p, ReadScalar(*precision, ctx));
      if (p.value == "ms") {
        source.iotdb.precision_digits = 3;
      } else if (p.value == "us") {
        source.iotdb.precision_digits = 6;
      } else if (p.value == "ns") {
        source.iotdb.precision_digits = 9;
      } else {
        return UnknownChoice(p, What(*precision, ctx), "time precision", {"ms", "us", "ns"});
      }
    }
    if (const Field* limit = fields.Find("row_limit")) {
      ASSIGN_OR_RETURN(source.iotdb.row_limit, ReadInt(*limit, ctx));
      if (source.iotdb.row_limit < 2) {
        return Error(MarkOf(*limit), What(*limit, ctx) + " must be at least 2 (a query asks " +
                                         "for one row less than the limit)");
      }
    }
    if (const Field* poll = fields.Find("poll")) {
      ASSIGN_OR_RETURN(source.iotdb.poll_ms, ReadDurationMs(*poll, ctx));
      if (source.iotdb.poll_ms < 1) {
        return Error(MarkOf(*poll), What(*poll, ctx) + " must be at least 1ms");
      }
    }
    if (const Field* lateness = fields.Find("lateness")) {
      ASSIGN_OR_RETURN(source.iotdb.lateness_ms, ReadDurationMs(*lateness, ctx));
    }
    return Status::Ok();
  }

  Status ParseRedisSource(const Field& sf, const Fields& fields, const std::string& ctx,
                          SourceSpec& source) {
    for (const char* file_only : {"path", "layout", "csv", "on_missing_column"}) {
      if (const Field* f = fields.FindAny(file_only)) {
        return Error(f->key.Mark(), What(*f, ctx) + " applies to file sources; a redis source " +
                                        "is reached by its 'url'");
      }
    }
    ASSIGN_OR_RETURN(const Field* url, Require(fields, "url", sf, ctx));
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*url, ctx));
    source.url_text = s.raw;
    source.url = s.value;
    if (!s.value.starts_with("redis://") && !s.value.starts_with("rediss://")) {
      return Error(s.mark, What(*url, ctx) +
                               " must start with redis:// (redis://[user[:password]@]host[:port]"
                               "[/db])");
    }
    if (const Field* tz = fields.Find("timezone")) {
      ASSIGN_OR_RETURN(source.timezone, ReadTimeZone(*tz, ctx));
    }
    if (const Field* tls = fields.Find("tls")) {
      if (!s.value.starts_with("rediss://")) {
        return Error(tls->key.Mark(), What(*tls, ctx) + " applies to a rediss:// url; this " +
                                          "source's url starts with redis:// (no TLS)");
      }
      RETURN_IF_ERROR(ParseRedisTls(*tls, ctx, source.tls));
    }
    return Status::Ok();
  }

  // tls: { ca_file, cert_file, key_file, server_name } of a rediss:// source.
  Status ParseRedisTls(const Field& f, const std::string& source_ctx, SourceSpec::Tls& out) {
    const std::string ctx = "'tls' of " + source_ctx;
    ASSIGN_OR_RETURN(const Fields fields,
                     ReadFields(f, ctx, {"ca_file", "cert_file", "key_file", "server_name"}));
    for (auto [name, dest] :
         {std::pair{"ca_file", &out.ca_file}, std::pair{"cert_file", &out.cert_file},
          std::pair{"key_file", &out.key_file}}) {
      if (const Field* file = fields.Find(name)) {
        ASSIGN_OR_RETURN(*dest, ReadPath(*file, ctx, base_dir_));
      }
    }
    if (const Field* name = fields.Find("server_name")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*name, ctx));
      if (s.value.empty()) return Error(s.mark, What(*name, ctx) + " must not be empty");
      out.server_name = s.value;
    }
    // A certificate without its key (or the reverse) cannot log in.
    if (out.cert_file.empty() != out.key_file.empty()) {
      const Field* given = fields.Find(out.cert_file.empty() ? "key_file" : "cert_file");
      return Error(given->key.Mark(), What(*given, ctx) + " needs " +
                                          (out.cert_file.empty() ? "'cert_file'" : "'key_file'") +
                                          " beside it (a client certificate and its key)");
    }
    return Status::Ok();
  }

  // csv: { delimiter, header, quote, escape, encoding, null } of a csv source.
  Status ParseCsvOptions(const Field& f, const std::string& source_ctx, CsvOptions& out) {
    const std::string ctx = "'csv' of " + source_ctx;
    ASSIGN_OR_RETURN(
        const Fields fields,
        ReadFields(f, ctx, {"delimiter", "header", "quote", "escape", "encoding", "null"}));
    // DuckDB reads delimiters of up to 4 bytes, and quote and escape of one.
    auto read_chars = [&](const char* name, size_t min, size_t max, std::string& dest) -> Status {
      const Field* c = fields.Find(name);
      if (c == nullptr) return Status::Ok();
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*c, ctx));
      if (s.value.size() < min || s.value.size() > max) {
        return Error(s.mark, What(*c, ctx) + " must be " +
                                 (min == max ? "exactly " + std::to_string(max) + " character"
                                             : "1 to " + std::to_string(max) + " characters") +
                                 ", not " + Quote(s.raw));
      }
      if (s.value.find_first_of("\r\n") != std::string::npos) {
        return Error(s.mark, What(*c, ctx) + " must not contain a line break");
      }
      dest = s.value;
      return Status::Ok();
    };
    RETURN_IF_ERROR(read_chars("delimiter", 1, 4, out.delimiter));
    RETURN_IF_ERROR(read_chars("quote", 1, 1, out.quote));
    RETURN_IF_ERROR(read_chars("escape", 1, 1, out.escape));
    if (const Field* h = fields.Find("header")) {
      ASSIGN_OR_RETURN(out.header, ReadBool(*h, ctx));
    }
    if (const Field* e = fields.Find("encoding")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*e, ctx));
      const std::string v = Lowercase(s.value);
      static const std::vector<std::pair<std::string_view, std::string_view>> kEncodings = {
          {"utf-8", "utf-8"},        {"utf8", "utf-8"},       {"utf-16", "utf-16"},
          {"utf16", "utf-16"},       {"latin-1", "latin-1"},  {"latin1", "latin-1"},
          {"iso-8859-1", "latin-1"}, {"iso8859-1", "latin-1"}};
      bool found = false;
      for (const auto& [spelling, canonical] : kEncodings) {
        if (v == spelling) {
          out.encoding = std::string(canonical);
          found = true;
        }
      }
      if (!found)
        return UnknownChoice(s, What(*e, ctx), "encoding", {"utf-8", "utf-16", "latin-1"});
    }
    // `null: ""` is allowed (empty fields are NULL, the default); `null:` alone
    // is "use the default" as everywhere in the spec.
    if (const Field* n = fields.Find("null")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*n, ctx));
      out.null_string = s.value;
    }
    if (out.delimiter.find(out.quote) != std::string::npos) {
      return Error(MarkOf(f), ctx + ": the delimiter " + Quote(out.delimiter) +
                                  " must not contain the quote character " + Quote(out.quote));
    }
    return Status::Ok();
  }

  Status ParseBackfill(const Field& f, const std::string& work_dir, BackfillOptions& out) {
    const std::string ctx = "'backfill'";
    ASSIGN_OR_RETURN(
        const Fields fields,
        ReadFields(f, ctx, {"batch_size", "chunk_rows", "max_rejects", "reject_file"}));
    if (const Field* b = fields.Find("batch_size")) {
      ASSIGN_OR_RETURN(out.batch_size, ReadInt(*b, ctx));
      if (out.batch_size <= 0) return Error(MarkOf(*b), What(*b, ctx) + " must be greater than 0");
    }
    if (const Field* c = fields.Find("chunk_rows")) {
      ASSIGN_OR_RETURN(out.chunk_rows, ReadInt(*c, ctx));
      if (out.chunk_rows <= 0) return Error(MarkOf(*c), What(*c, ctx) + " must be greater than 0");
    }
    if (const Field* m = fields.Find("max_rejects")) {
      ASSIGN_OR_RETURN(out.max_rejects, ReadInt(*m, ctx));
      if (out.max_rejects < 0) return Error(MarkOf(*m), What(*m, ctx) + " must not be negative");
    }
    if (const Field* r = fields.Find("reject_file")) {
      ASSIGN_OR_RETURN(out.reject_file, ReadPath(*r, ctx, fs::path(work_dir)));
    }
    return Status::Ok();
  }

  Status ParseSync(const Field& f, SyncOptions& out) {
    const std::string ctx = "'sync'";
    out.where = Where(f.key.Mark());
    ASSIGN_OR_RETURN(const Fields fields, ReadFields(f, ctx, {"every"}));
    if (const Field* e = fields.Find("every")) {
      ASSIGN_OR_RETURN(out.every_ms, ReadDurationMs(*e, ctx));
      if (out.every_ms < 1000) {
        return Error(MarkOf(*e), What(*e, ctx) + " must be at least 1s");
      }
    }
    return Status::Ok();
  }

  Status ParseVerify(const Field& f, VerifyOptions& out) {
    const std::string ctx = "'verify'";
    ASSIGN_OR_RETURN(const Fields fields, ReadFields(f, ctx, {"float_tolerance"}));
    if (const Field* t = fields.Find("float_tolerance")) {
      ASSIGN_OR_RETURN(out.float_tolerance, ReadDouble(*t, ctx));
      if (out.float_tolerance < 0 || out.float_tolerance >= 1) {
        return Error(MarkOf(*t), What(*t, ctx) + " must be at least 0 and less than 1");
      }
    }
    return Status::Ok();
  }

  // A duration: a whole number with a unit, "250ms", "10s", "5m", "48h",
  // "2d". A bare number is refused: "48" could mean hours or seconds.
  Result<int64_t> ReadDurationMs(const Field& f, const std::string& ctx) {
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(f, ctx));
    const std::string& v = s.value;
    size_t digits = 0;
    while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
    const std::string_view unit = std::string_view(v).substr(digits);
    static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
    int64_t scale = 0;
    for (const auto& [name, ms] : kUnits) {
      if (unit == name) scale = ms;
    }
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + digits, n);
    if (digits == 0 || scale == 0 || ec != std::errc() || end != v.data() + digits ||
        n > std::numeric_limits<int64_t>::max() / scale) {
      return Error(s.mark, What(f, ctx) +
                               " must be a duration such as 250ms, 10s, 5m, 48h or 2d, " + "not " +
                               Quote(s.raw));
    }
    return n * scale;
  }

  Status ParseStages(const Field& f, StageOptions& out) {
    const std::string ctx = "'stages'";
    ASSIGN_OR_RETURN(const Fields fields,
                     ReadFields(f, ctx,
                                {"shadow_mismatch_rate", "shadow_min_reads", "window",
                                 "fallback_window", "primary_fallback", "poll_interval",
                                 "stale_after", "shadow_sample", "read_timeout", "drain_timeout"}));
    if (const Field* r = fields.Find("shadow_mismatch_rate")) {
      ASSIGN_OR_RETURN(out.shadow_mismatch_rate, ReadDouble(*r, ctx));
      if (out.shadow_mismatch_rate < 0 || out.shadow_mismatch_rate > 1) {
        return Error(MarkOf(*r), What(*r, ctx) + " must be between 0 and 1");
      }
    }
    if (const Field* m = fields.Find("shadow_min_reads")) {
      ASSIGN_OR_RETURN(out.shadow_min_reads, ReadInt(*m, ctx));
      if (out.shadow_min_reads < 0)
        return Error(MarkOf(*m), What(*m, ctx) + " must not be negative");
    }
    // Guards compare whole seconds in SQL; a sub-second window is rounded up.
    auto seconds = [](int64_t ms) { return (ms + 999) / 1000; };
    if (const Field* w = fields.Find("window")) {
      ASSIGN_OR_RETURN(const int64_t ms, ReadDurationMs(*w, ctx));
      out.window_seconds = seconds(ms);
    }
    if (const Field* w = fields.Find("fallback_window")) {
      ASSIGN_OR_RETURN(const int64_t ms, ReadDurationMs(*w, ctx));
      out.fallback_window_seconds = seconds(ms);
    }
    if (const Field* b = fields.Find("primary_fallback")) {
      ASSIGN_OR_RETURN(out.primary_fallback, ReadBool(*b, ctx));
    }
    if (const Field* r = fields.Find("shadow_sample")) {
      ASSIGN_OR_RETURN(out.shadow_sample, ReadDouble(*r, ctx));
      if (out.shadow_sample < 0 || out.shadow_sample > 1) {
        return Error(MarkOf(*r), What(*r, ctx) + " must be between 0 and 1 (a share of reads)");
      }
    }
    if (const Field* t = fields.Find("read_timeout")) {
      ASSIGN_OR_RETURN(out.read_timeout_ms, ReadDurationMs(*t, ctx));
      if (out.read_timeout_ms < 1) {
        return Error(MarkOf(*t), What(*t, ctx) + " must be at least 1ms");
      }
    }
    if (const Field* d = fields.Find("drain_timeout")) {
      ASSIGN_OR_RETURN(out.drain_timeout_ms, ReadDurationMs(*d, ctx));
    }
    bool stale_given = false;
    if (const Field* p = fields.Find("poll_interval")) {
      ASSIGN_OR_RETURN(out.poll_interval_ms, ReadDurationMs(*p, ctx));
      if (out.poll_interval_ms < 100) {
        return Error(MarkOf(*p), What(*p, ctx) + " must be at least 100ms");
      }
    }
    if (const Field* st = fields.Find("stale_after")) {
      ASSIGN_OR_RETURN(out.stale_after_ms, ReadDurationMs(*st, ctx));
      stale_given = true;
    }
    if (!stale_given) out.stale_after_ms = 3 * out.poll_interval_ms;
    if (out.stale_after_ms <= out.poll_interval_ms) {
      const Field* at = fields.Find("stale_after");
      return Error(MarkOf(at ? *at : *fields.Find("poll_interval")),
                   "'stale_after' in " + ctx + " must be longer than 'poll_interval', or every " +
                       "watcher would report itself stale between two reads");
    }
    return Status::Ok();
  }

  Status ParseServe(const Field& f, ServeOptions& out) {
    const std::string ctx = "'serve'";
    ASSIGN_OR_RETURN(const Fields fields,
                     ReadFields(f, ctx, {"listen", "port", "token_env", "tokens", "pool", "tls"}));
    if (const Field* l = fields.Find("listen")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*l, ctx));
      if (s.value.empty()) return Error(s.mark, What(*l, ctx) + " must not be empty");
      out.listen = s.value;
    }
    if (const Field* p = fields.Find("port")) {
      ASSIGN_OR_RETURN(const int64_t port, ReadInt(*p, ctx));
      if (port < 0 || port > 65535) {
        return Error(MarkOf(*p), What(*p, ctx) + " must be between 0 and 65535");
      }
      out.port = static_cast<int>(port);
    }
    if (const Field* t = fields.Find("token_env")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*t, ctx));
      if (s.value.empty()) return Error(s.mark, What(*t, ctx) + " must not be empty");
      out.token_env = s.value;
    }
    if (const Field* t = fields.Find("tokens")) {
      if (const Field* single = fields.Find("token_env")) {
        return Error(single->key.Mark(),
                     "'token_env' and 'tokens' in " + ctx +
                         " are two ways to say the same thing; keep one (a token_env token is "
                         "named 'default')");
      }
      const std::string tokens_ctx = "'tokens' in " + ctx;
      ASSIGN_OR_RETURN(const Fields named, ReadNamedMap(*t, tokens_ctx, "token name", tokens_ctx));
      if (named.entries().empty()) {
        return Error(MarkOf(*t), tokens_ctx + " must name at least one token");
      }
      for (const Field& n : named.entries()) {
        // The name is written into the audit trail's `who`: plain characters only.
        RETURN_IF_ERROR(CheckIdentifier(n.name, n.key.Mark(), "token name"));
        for (const char c : n.name) {
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
            return Error(n.key.Mark(), "token name " + Quote(n.name) +
                                           " may hold only letters, digits, '_', '-' and '.'");
          }
        }
        ASSIGN_OR_RETURN(const Scalar env, ReadScalar(n, tokens_ctx));
        if (env.value.empty()) return Error(env.mark, What(n, tokens_ctx) + " must not be empty");
        for (const auto& [other, other_env] : out.tokens) {
          if (other_env == env.value) {
            return Error(env.mark, "tokens " + Quote(other) + " and " + Quote(n.name) +
                                       " both read $" + env.value +
                                       "; each name needs its own variable");
          }
        }
        out.tokens.emplace_back(n.name, env.value);
      }
    }
    if (const Field* t = fields.Find("tls")) {
      const std::string tls_ctx = "'tls' in " + ctx;
      ASSIGN_OR_RETURN(const Fields tls, ReadFields(*t, tls_ctx, {"cert_file", "key_file"}));
      for (auto [name, dest] :
           {std::pair{"cert_file", &out.tls.cert_file}, std::pair{"key_file", &out.tls.key_file}}) {
        const Field* file = tls.Find(name);
        if (file == nullptr) {
          return Error(MarkOf(*t), tls_ctx + " needs '" + name +
                                       "' (the port's certificate and its private key, PEM)");
        }
        ASSIGN_OR_RETURN(*dest, ReadPath(*file, tls_ctx, base_dir_));
      }
    }
    if (const Field* p = fields.Find("pool")) {
      const std::string pool_ctx = "'pool' in " + ctx;
      ASSIGN_OR_RETURN(const Fields pool,
                       ReadFields(*p, pool_ctx, {"size", "overflow", "wait_timeout"}));
      auto read_count = [&](const char* name, int min, int& dest) -> Status {
        const Field* c = pool.Find(name);
        if (c == nullptr) return Status::Ok();
        ASSIGN_OR_RETURN(const int64_t n, ReadInt(*c, pool_ctx));
        if (n < min || n > 1000) {
          return Error(MarkOf(*c), What(*c, pool_ctx) + " must be between " + std::to_string(min) +
                                       " and 1000");
        }
        dest = static_cast<int>(n);
        return Status::Ok();
      };
      RETURN_IF_ERROR(read_count("size", 1, out.pool_size));
      RETURN_IF_ERROR(read_count("overflow", 0, out.pool_overflow));
      if (const Field* w = pool.Find("wait_timeout")) {
        ASSIGN_OR_RETURN(out.pool_wait_timeout_ms, ReadDurationMs(*w, pool_ctx));
      }
    }
    return Status::Ok();
  }

  // A size with a binary unit: "512MB", "2GB" (1KB = 1024 B). A bare number
  // is refused, as durations are: the unit says what the limit means.
  Result<int64_t> ReadBytes(const Field& f, const std::string& ctx) {
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(f, ctx));
    const std::string& v = s.value;
    size_t digits = 0;
    while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
    std::string unit(std::string_view(v).substr(digits));
    for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
        {"B", 1}, {"KB", 1LL << 10}, {"MB", 1LL << 20}, {"GB", 1LL << 30}, {"TB", 1LL << 40}};
    int64_t scale = 0;
    for (const auto& [name, bytes] : kUnits) {
      if (unit == name) scale = bytes;
    }
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + digits, n);
    if (digits == 0 || scale == 0 || ec != std::errc() || end != v.data() + digits ||
        n > std::numeric_limits<int64_t>::max() / scale) {
      return Error(s.mark, What(f, ctx) + " must be a size such as 512MB or 2GB (B, KB, MB, GB " +
                               "or TB; 1KB = 1024 B), not " + Quote(s.raw));
    }
    return n * scale;
  }

  Result<AuditLimit> ReadKeyLimit(const Field& f, const std::string& ctx) {
    AuditLimit limit;
    ASSIGN_OR_RETURN(limit.value, ReadInt(f, ctx));
    if (limit.value < 0) return Error(MarkOf(f), What(f, ctx) + " must not be negative");
    limit.text = f.value.Scalar();
    limit.where = Where(MarkOf(f));
    return limit;
  }

  // The entity an audit condition names: a top-level entity of a redis
  // source, since the audit measures key patterns.
  Status CheckAuditEntity(const MigrationSpec& spec, const Scalar& name, const std::string& what) {
    std::vector<std::string_view> redis_entities;
    for (const EntitySpec& e : spec.entities) {
      if (e.redis) redis_entities.push_back(e.name);
    }
    const EntitySpec* entity = spec.FindEntity(name.value);
    if (entity == nullptr) {
      if (redis_entities.empty()) {
        return Error(name.mark, what + ": unknown entity " + Quote(name.raw) +
                                    "; the spec declares no entity of a redis source");
      }
      return UnknownChoice(name, what, "entity", redis_entities);
    }
    if (!entity->redis) {
      return Error(name.mark, what + ": entity " + Quote(name.raw) +
                                  " has no key pattern (the audit measures entities of redis " +
                                  "sources: " + JoinNames(redis_entities) + ")");
    }
    return Status::Ok();
  }

  // audit: { max_keys, max_memory, not_empty: [entity, ...],
  //          entities: { name: { max_keys } } }
  Status ParseAudit(const Field& f, MigrationSpec& spec) {
    const std::string ctx = "'audit'";
    AuditSpec& out = spec.audit;
    out.where = Where(f.key.Mark());
    ASSIGN_OR_RETURN(const Fields fields,
                     ReadFields(f, ctx, {"max_keys", "max_memory", "not_empty", "entities"}));
    if (const Field* m = fields.Find("max_keys")) {
      ASSIGN_OR_RETURN(out.max_keys, ReadKeyLimit(*m, ctx));
    }
    if (const Field* m = fields.Find("max_memory")) {
      AuditLimit limit;
      ASSIGN_OR_RETURN(limit.value, ReadBytes(*m, ctx));
      limit.text = m->value.Scalar();
      limit.where = Where(MarkOf(*m));
      out.max_memory = std::move(limit);
    }
    if (const Field* n = fields.Find("not_empty")) {
      if (!n->value.IsSequence()) {
        return Error(MarkOf(*n), What(*n, ctx) + " must be a list of entities, not " +
                                     std::string(KindName(n->value)));
      }
      for (const YAML::Node& item : n->value) {
        if (!item.IsScalar()) {
          return Error(item.Mark(), What(*n, ctx) + " must list entity names, not " +
                                        std::string(KindName(item)));
        }
        ASSIGN_OR_RETURN(const Scalar name, ExpandScalar(item, What(*n, ctx)));
        RETURN_IF_ERROR(CheckAuditEntity(spec, name, What(*n, ctx)));
        for (const AuditSpec::NotEmpty& seen : out.not_empty) {
          if (seen.entity == name.value) {
            return Error(name.mark, What(*n, ctx) + " names " + Quote(name.raw) +
                                        " twice; first at " + seen.where.ToString());
          }
        }
        out.not_empty.push_back({name.value, Where(name.mark)});
      }
    }
    if (const Field* e = fields.Find("entities")) {
      const std::string entities_ctx = "'entities' in " + ctx;
      ASSIGN_OR_RETURN(const Fields named, ReadNamedMap(*e, entities_ctx, "entity", entities_ctx));
      for (const Field& ef : named.entries()) {
        Scalar name;
        name.raw = name.value = ef.name;
        name.mark = ef.key.Mark();
        RETURN_IF_ERROR(CheckAuditEntity(spec, name, entities_ctx));
        const std::string entity_ctx = "entity " + Quote(ef.name) + " of " + ctx;
        AuditSpec::EntityLimits limits;
        limits.entity = ef.name;
        limits.where = Where(ef.key.Mark());
        ASSIGN_OR_RETURN(const Fields lf, ReadFields(ef, entity_ctx, {"max_keys"}));
        if (const Field* m = lf.Find("max_keys")) {
          ASSIGN_OR_RETURN(limits.max_keys, ReadKeyLimit(*m, entity_ctx));
        }
        out.entities.push_back(std::move(limits));
      }
    }
    return Status::Ok();
  }

  // Parses entity `f` into `out`; `parent` is null for a top-level entity.
  // `out` must stay in place while its children are parsed, since they point
  // at it to check their parent columns.
  Status ParseEntity(const Field& f, const MigrationSpec& spec, const EntitySpec* parent,
                     EntitySpec& out) {
    out.name = f.name;
    out.where = Where(f.key.Mark());
    RETURN_IF_ERROR(CheckIdentifier(out.name, f.key.Mark(), "entity name"));
    if (const auto [it, inserted] = entity_names_.emplace(out.name, out.where); !inserted) {
      return Error(f.key.Mark(), "entity name " + Quote(out.name) +
                                     " is already used by the entity declared at " +
                                     it->second.ToString() + "; entity names must be unique");
    }
    const std::string ctx = "entity " + Quote(out.name);
    Fields fields;
    if (parent == nullptr) {
      ASSIGN_OR_RETURN(
          fields, ReadFields(f, ctx,
                             {"source", "table", "schema", "priority", "key", "columns", "children",
                              "dedup", "indexes", "tag", "write_back", "partition", "rollups"}));
      // An entity without a source is a dimension that lookups fill; that it
      // is one is checked once every entity is known (CheckLookups).
      if (fields.FindAny("source") == nullptr) {
        sourceless_.emplace_back(out.name, f.key.Mark());
      } else {
        ASSIGN_OR_RETURN(const Field* source, Require(fields, "source", f, ctx));
        RETURN_IF_ERROR(ParseEntitySource(*source, spec, ctx, out));
      }
      // Children read the same records, so they see the same clocks.
      const SourceSpec* source = spec.FindSource(out.source);
      source_timezone_ = source != nullptr ? source->timezone : nullptr;
      if (const Field* p = fields.Find("priority")) {
        ASSIGN_OR_RETURN(out.priority, ReadPriority(*p, ctx));
      }
    } else {
      ASSIGN_OR_RETURN(fields, ReadFields(f, ctx,
                                          {"path", "table", "schema", "key", "parent", "columns",
                                           "children", "indexes"}));
      ASSIGN_OR_RETURN(const Field* path, Require(fields, "path", f, ctx));
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*path, ctx));
      RETURN_IF_ERROR(CheckDottedPath(s, What(*path, ctx)));
      out.path = s.value;
      // A child table lives with its parent unless told otherwise.
      out.schema = parent->schema;
      out.priority = parent->priority;
    }

    out.table = out.name;
    if (const Field* t = fields.Find("table")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*t, ctx));
      RETURN_IF_ERROR(CheckIdentifier(s.value, s.mark, What(*t, ctx)));
      out.table = s.value;
    }
    if (const Field* t = fields.Find("schema")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*t, ctx));
      RETURN_IF_ERROR(CheckIdentifier(s.value, s.mark, What(*t, ctx)));
      out.schema = s.value;
    }

    ASSIGN_OR_RETURN(const Field* columns, Require(fields, "columns", f, ctx));
    RETURN_IF_ERROR(ParseColumns(*columns, ctx, out));

    ASSIGN_OR_RETURN(const Field* key, Require(fields, "key", f, ctx));
    RETURN_IF_ERROR(ReadColumnList(*key, ctx, out, out.key));
    if (const Field* d = fields.Find("dedup")) RETURN_IF_ERROR(ParseDedup(*d, ctx, out));
    if (const Field* i = fields.Find("indexes")) RETURN_IF_ERROR(ParseIndexes(*i, ctx, out));
    if (const Field* p = fields.Find("partition")) RETURN_IF_ERROR(ParsePartition(*p, ctx, out));
    if (const Field* r = fields.Find("rollups")) RETURN_IF_ERROR(ParseRollups(*r, ctx, out));

    if (parent != nullptr) {
      ASSIGN_OR_RETURN(const Field* p, Require(fields, "parent", f, ctx));
      RETURN_IF_ERROR(ParseParentColumns(*p, ctx, *parent, out));
    }

    if (const Field* c = fields.Find("children")) {
      ASSIGN_OR_RETURN(const Fields children,
                       ReadNamedMap(*c, What(*c, ctx), "entity", What(*c, ctx)));
      for (const Field& cf : children.entries()) {
        EntitySpec child;
        RETURN_IF_ERROR(ParseEntity(cf, spec, &out, child));
        out.children.push_back(std::move(child));
      }
    }
    if (parent == nullptr) {
      const Field* tag = fields.FindAny("tag");
      if (out.redis) {
        RETURN_IF_ERROR(ResolveRedisColumns(ctx, out));
        RETURN_IF_ERROR(ParseTag(tag, ctx, out));
      } else if (out.iotdb) {
        RETURN_IF_ERROR(ResolveIotdbColumns(ctx, *spec.FindSource(out.source), out));
        if (tag != nullptr) {
          return Error(tag->key.Mark(), What(*tag, ctx) + " applies to entities of redis sources");
        }
      } else if (tag != nullptr) {
        return Error(tag->key.Mark(), What(*tag, ctx) + " applies to entities of redis sources");
      }
      if (const Field* w = fields.Find("write_back")) {
        ASSIGN_OR_RETURN(out.write_back, ReadBool(*w, ctx));
        if (out.write_back) {
          const SourceSpec* source = spec.FindSource(out.source);
          if (!out.redis && !out.iotdb &&
              (source == nullptr || (source->type != "json" && source->type != "parquet"))) {
            return Error(MarkOf(*w), What(*w, ctx) +
                                         " applies to entities of redis, iotdb, json and parquet "
                                         "sources (rows are not written back into " +
                                         (source != nullptr ? source->type : "its") +
                                         " files yet)");
          }
          if (const std::string problem = InvertibilityProblem(out); !problem.empty()) {
            return Error(MarkOf(*w), ctx + " declares write_back, but " + problem);
          }
        }
      }
    }
    return Status::Ok();
  }

  // `priority: critical|high|medium|low` (0..3) or an integer; lower first.
  Result<int> ReadPriority(const Field& p, const std::string& ctx) {
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(p, ctx));
    for (const auto& [name, value] : kPriorityNames) {
      if (Lowercase(s.value) == name) return value;
    }
    int64_t priority = 0;
    const char* end = s.value.data() + s.value.size();
    const auto [ptr, ec] = std::from_chars(s.value.data(), end, priority);
    if (ec != std::errc() || ptr != end || s.value.empty()) {
      return Error(
          s.mark,
          What(p, ctx) + " must be critical, high, medium, low or an integer, not " + Quote(s.raw));
    }
    if (priority < std::numeric_limits<int>::min() || priority > std::numeric_limits<int>::max()) {
      return Error(MarkOf(p), What(p, ctx) + " must fit in a 32-bit integer");
    }
    return static_cast<int>(priority);
  }

  // Where each column of a Redis entity reads from in the key's document
  // (RedisKeySpec): "$..." names stay, a capture's name stays, and any other
  // path is a field of the value ("plan" -> "$value.plan"), which only JSON
  // and hash values have.
  Status ResolveRedisColumns(const std::string& ctx, EntitySpec& out) {
    static const std::vector<std::string_view> kMeta = {"$key",        "$type", "$ttl_ms",
                                                        "$expires_at", "$tag",  "$value"};
    const auto& captures = out.redis->pattern.captures();
    using V = RedisKeySpec::Value;
    const V kind = out.redis->value;
    for (ColumnSpec& c : out.columns) {
      const std::string head = c.from.substr(0, c.from.find('.'));
      if (head.starts_with("$")) {
        if (std::find(kMeta.begin(), kMeta.end(), head) == kMeta.end()) {
          return InvalidArgument(c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx +
                                 " reads " + Quote(c.from) + "; a redis key offers " +
                                 JoinNames(kMeta) + Hint(head, kMeta));
        }
        if (head != "$value" && head != c.from) {
          return InvalidArgument(c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx +
                                 " reads " + Quote(c.from) + ", but " + Quote(head) +
                                 " has no fields");
        }
        continue;
      }
      if (std::find(captures.begin(), captures.end(), head) != captures.end()) {
        if (head != c.from) {
          return InvalidArgument(c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx +
                                 " reads " + Quote(c.from) + ", but capture " + Quote(head) +
                                 " is text, with no fields");
        }
        continue;
      }
      if (kind != V::kJson && kind != V::kHash) {
        std::vector<std::string_view> offered(captures.begin(), captures.end());
        for (std::string_view m : kMeta) offered.push_back(m);
        return InvalidArgument(
            c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx + " reads " +
            Quote(c.from) + ", which is neither a capture of " + Quote(out.redis->pattern.text()) +
            " nor a key property; a " + std::string(RedisTypeName(kind)) +
            " value is read whole as '$value'. Expected one of: " + JoinNames(offered));
      }
      c.from = "$value." + c.from;
    }
    // A deleted key leaves only its name: its row is found by what the name
    // holds, so the key columns must come from it.
    for (const std::string& k : out.key) {
      const ColumnSpec* c = out.FindColumn(k);
      if (c == nullptr || c->from == "$key" ||
          std::find(captures.begin(), captures.end(), c->from) != captures.end()) {
        continue;
      }
      return InvalidArgument(c->where.ToString() + ": key column " + Quote(k) + " of " + ctx +
                             " reads " + Quote(c->from) +
                             ", but a redis entity's key must come from the key's name (a "
                             "capture of " +
                             Quote(out.redis->pattern.text()) +
                             " or $key): when the key is deleted its row is found by its name");
    }
    return Status::Ok();
  }

  // Where each column of an IoTDB entity reads from in its records
  // (stores/iotdb/iotdb_document.h): a capture, a "$..." property, or (wide
  // layout) a measurement, read from "$values.<name>".
  Status ResolveIotdbColumns(const std::string& ctx, const SourceSpec& source, EntitySpec& out) {
    using Layout = IotdbSeriesSpec::Layout;
    out.iotdb->precision_digits = source.iotdb.precision_digits;
    const IotdbSeriesSpec& iotdb = *out.iotdb;
    const bool wide = iotdb.layout == Layout::kWide;
    std::vector<std::string_view> meta = {"$device", "$time", "$epoch"};
    if (!wide) {
      for (std::string_view m : {"$measurement", "$series", "$type", "$value", "$numeric",
                                 "$integer", "$text", "$boolean", "$blob", "$date", "$timestamp"}) {
        meta.push_back(m);
      }
    }
    std::vector<std::string> captures = iotdb.pattern.captures();
    if (wide && !iotdb.pattern.measurement_capture().empty()) captures.pop_back();
    bool has_time = false;
    // A long record's key names its series unless the pattern names one
    // measurement (its last node a literal).
    const auto nodes = SplitSeriesPath(iotdb.pattern.text());
    bool has_series = wide || (iotdb.pattern.measurement_capture().empty() && nodes &&
                               nodes->back() != "*" && nodes->back() != "**");
    for (ColumnSpec& c : out.columns) {
      const std::string head = c.from.substr(0, c.from.find('.'));
      const bool is_key = std::find(out.key.begin(), out.key.end(), c.name) != out.key.end();
      if (head.starts_with("$")) {
        if (std::find(meta.begin(), meta.end(), head) == meta.end()) {
          return InvalidArgument(c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx +
                                 " reads " + Quote(c.from) + "; a " + (wide ? "wide" : "long") +
                                 " IoTDB record offers " + JoinNames(meta) + Hint(head, meta));
        }
        if (head != c.from && head != "$value") {
          return InvalidArgument(c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx +
                                 " reads " + Quote(c.from) + ", but " + Quote(head) +
                                 " has no fields");
        }
        if ((head == "$time" || head == "$epoch") && is_key) has_time = true;
        if ((head == "$measurement" || head == "$series") && is_key) has_series = true;
        if (head == "$time" && c.type == ValueType::kTimestamptz &&
            source.iotdb.precision_digits > 6) {
          return InvalidArgument(
              c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx +
              " reads $time into timestamptz, which keeps microseconds, but the source's "
              "precision is ns: read $epoch (nanoseconds since 1970) into a bigint column");
        }
        continue;
      }
      if (std::find(captures.begin(), captures.end(), head) != captures.end()) {
        if (head != c.from) {
          return InvalidArgument(c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx +
                                 " reads " + Quote(c.from) + ", but capture " + Quote(head) +
                                 " is text, with no fields");
        }
        if (head == iotdb.pattern.measurement_capture() && is_key) has_series = true;
        continue;
      }
      if (!wide) {
        std::vector<std::string_view> offered(captures.begin(), captures.end());
        for (std::string_view m : meta) offered.push_back(m);
        return InvalidArgument(c.where.ToString() + ": column " + Quote(c.name) + " of " + ctx +
                               " reads " + Quote(c.from) + ", which is neither a capture of " +
                               Quote(iotdb.pattern.text()) +
                               " nor a point property (a long record holds one point; "
                               "layout: wide gives a member per measurement). Expected one of: " +
                               JoinNames(offered));
      }
      c.from = "$values." + c.from;
    }
    if (!has_time) {
      return InvalidArgument(out.where.ToString() + ": " + ctx +
                             " keys its rows without the point's time: its key must include a "
                             "column that reads $time or $epoch");
    }
    // Two devices' points at one time must not share a key: the key names
    // the device by $device or $series, or by every capture of its nodes
    // when no `*` or `**` stands among them.
    bool has_device = false;
    std::vector<std::string> keyed_captures;
    for (const std::string& k : out.key) {
      const ColumnSpec* c = out.FindColumn(k);
      if (c == nullptr) continue;
      if (c->from == "$device" || c->from == "$series") has_device = true;
      keyed_captures.push_back(c->from);
    }
    if (!has_device && !iotdb.pattern.device_has_wildcard()) {
      has_device = true;
      for (const std::string& cap : iotdb.pattern.device_captures()) {
        if (std::find(keyed_captures.begin(), keyed_captures.end(), cap) == keyed_captures.end()) {
          has_device = false;
        }
      }
    }
    if (!has_device) {
      return InvalidArgument(out.where.ToString() + ": " + ctx +
                             " keys its rows without naming the device: points of two devices "
                             "at one time would share a key. Include a column that reads $device "
                             "or $series, or one per capture of the device's nodes in " +
                             Quote(iotdb.pattern.text()) + " (which then has no * or **)");
    }
    if (!has_series) {
      return InvalidArgument(out.where.ToString() + ": " + ctx +
                             " keys one point per series and time, but its key names no series: "
                             "include a column that reads the measurement (capture {" +
                             (iotdb.pattern.measurement_capture().empty()
                                  ? std::string("measurement")
                                  : iotdb.pattern.measurement_capture()) +
                             "}, $measurement or $series)");
    }
    return Status::Ok();
  }

  // `tag: NAME` (a text column source_tag), `tag: { value, column, as }`
  // with as: text|jsonb, or `tag: false`. Default: the entity's name in a
  // text column source_tag.
  Status ParseTag(const Field* f, const std::string& ctx, EntitySpec& out) {
    TagSpec tag;
    tag.value = out.name;
    tag.column = "source_tag";
    tag.where = out.where;
    if (f != nullptr) {
      tag.where = Where(MarkOf(*f));
      if (f->value.IsScalar()) {
        ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*f, ctx));
        if (s.value == "false") return Status::Ok();
        if (s.value.empty()) return Error(s.mark, What(*f, ctx) + " must not be empty");
        tag.value = s.value;
      } else {
        const std::string tctx = What(*f, ctx);
        ASSIGN_OR_RETURN(const Fields fields, ReadFields(*f, tctx, {"value", "column", "as"}));
        if (const Field* v = fields.Find("value")) {
          ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*v, tctx));
          if (s.value.empty()) return Error(s.mark, What(*v, tctx) + " must not be empty");
          tag.value = s.value;
        }
        if (const Field* c = fields.Find("column")) {
          ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*c, tctx));
          RETURN_IF_ERROR(CheckIdentifier(s.value, s.mark, What(*c, tctx)));
          tag.column = s.value;
        }
        if (const Field* a = fields.Find("as")) {
          ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*a, tctx));
          if (s.value == "jsonb") {
            tag.jsonb = true;
          } else if (s.value != "text") {
            return UnknownChoice(s, What(*a, tctx), "tag column type", {"text", "jsonb"});
          }
        }
      }
    }
    if (const ColumnSpec* clash = out.FindColumn(tag.column)) {
      return InvalidArgument(clash->where.ToString() + ": column " + Quote(tag.column) + " of " +
                             ctx + " is also where the source tag goes; name another column " +
                             "with tag: { column: ... }");
    }
    ColumnSpec column;
    column.name = tag.column;
    column.from = "$tag";
    column.type = tag.jsonb ? ValueType::kJsonb : ValueType::kText;
    column.where = tag.where;
    out.columns.push_back(std::move(column));
    out.tag = std::move(tag);
    return Status::Ok();
  }

  // `timezone: Europe/Berlin`: an IANA zone of the system tz database; an
  // unknown name is an error with the nearest known one.
  Result<std::shared_ptr<const TimeZone>> ReadTimeZone(const Field& f, const std::string& ctx) {
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(f, ctx));
    auto zone = TimeZone::Load(s.value);
    if (zone.ok()) return *zone;
    if (zone.status().code() != StatusCode::kNotFound) {
      return Error(s.mark, What(f, ctx) + ": " + zone.status().message());
    }
    const std::vector<std::string> names = TimeZone::Names();
    const std::vector<std::string_view> views(names.begin(), names.end());
    const std::string nearest = NearestName(s.value, views);
    return Error(s.mark, What(f, ctx) + ": unknown time zone " + Quote(s.value) +
                             (nearest.empty() ? "; expected an IANA name such as Europe/Berlin, "
                                                "or UTC"
                                              : "; did you mean " + Quote(nearest) + "?"));
  }

  Status ParseEntitySource(const Field& f, const MigrationSpec& spec, const std::string& entity_ctx,
                           EntitySpec& out) {
    const std::string ctx = "'source' of " + entity_ctx;
    ASSIGN_OR_RETURN(const Fields fields,
                     ReadFields(f, ctx, {"from", "file", "pattern", "value", "series", "layout"}));
    ASSIGN_OR_RETURN(const Field* from, Require(fields, "from", f, ctx));
    ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*from, ctx));
    const SourceSpec* source = spec.FindSource(s.value);
    if (source == nullptr) {
      std::vector<std::string_view> names;
      for (const SourceSpec& src : spec.sources) names.push_back(src.name);
      return UnknownChoice(s, What(*from, ctx), "source", names);
    }
    out.source = s.value;
    if (source->type == "iotdb") return ParseIotdbSeries(f, fields, *source, ctx, out);
    for (const char* iotdb_only : {"series", "layout"}) {
      if (const Field* r = fields.FindAny(iotdb_only)) {
        return Error(r->key.Mark(),
                     What(*r, ctx) + " applies to iotdb sources; this one is " + source->type);
      }
    }
    if (source->type == "redis") {
      if (const Field* file = fields.FindAny("file")) {
        return Error(file->key.Mark(), What(*file, ctx) + " applies to file sources; a redis " +
                                           "entity names its keys with 'pattern'");
      }
      RedisKeySpec redis;
      ASSIGN_OR_RETURN(const Field* pattern, Require(fields, "pattern", f, ctx));
      ASSIGN_OR_RETURN(const Scalar p, ReadScalar(*pattern, ctx));
      redis.where = Where(p.mark);
      auto parsed = KeyPattern::Parse(p.value);
      if (!parsed.ok())
        return Error(p.mark, What(*pattern, ctx) + ": " + parsed.status().message());
      redis.pattern = std::move(*parsed);
      if (const Field* v = fields.Find("value")) {
        ASSIGN_OR_RETURN(const Scalar vs, ReadScalar(*v, ctx));
        static const std::vector<std::pair<std::string_view, RedisKeySpec::Value>> kKinds = {
            {"string", RedisKeySpec::Value::kString}, {"counter", RedisKeySpec::Value::kCounter},
            {"json", RedisKeySpec::Value::kJson},     {"hash", RedisKeySpec::Value::kHash},
            {"set", RedisKeySpec::Value::kSet},       {"list", RedisKeySpec::Value::kList},
            {"zset", RedisKeySpec::Value::kZset}};
        bool found = false;
        for (const auto& [name, kind] : kKinds) {
          if (vs.value == name) {
            redis.value = kind;
            found = true;
          }
        }
        if (!found) {
          return UnknownChoice(vs, What(*v, ctx), "value kind",
                               {"string", "counter", "json", "hash", "set", "list", "zset"});
        }
      }
      out.redis = std::move(redis);
      return Status::Ok();
    }
    for (const char* redis_only : {"pattern", "value"}) {
      if (const Field* r = fields.FindAny(redis_only)) {
        return Error(r->key.Mark(),
                     What(*r, ctx) + " applies to redis sources; this one is " + source->type);
      }
    }
    if (const Field* file = fields.Find("file")) {
      ASSIGN_OR_RETURN(const Scalar fs_value, ReadScalar(*file, ctx));
      if (fs_value.value.empty())
        return Error(fs_value.mark, What(*file, ctx) + " must not be empty");
      out.file = fs_value.value;
    }
    return Status::Ok();
  }

  // `series:` the pattern of the series an entity of an iotdb source takes;
  // `layout:` long (a record per point, the default) or wide (a record per
  // device and time).
  Status ParseIotdbSeries(const Field& f, const Fields& fields, const SourceSpec& source,
                          const std::string& ctx, EntitySpec& out) {
    for (const char* other : {"file", "pattern", "value"}) {
      if (const Field* r = fields.FindAny(other)) {
        return Error(r->key.Mark(), What(*r, ctx) + " does not apply to iotdb sources; an " +
                                        "iotdb entity names its series with 'series'");
      }
    }
    (void)source;
    IotdbSeriesSpec iotdb;
    ASSIGN_OR_RETURN(const Field* series, Require(fields, "series", f, ctx));
    ASSIGN_OR_RETURN(const Scalar p, ReadScalar(*series, ctx));
    iotdb.where = Where(p.mark);
    auto parsed = SeriesPattern::Parse(p.value);
    if (!parsed.ok()) return Error(p.mark, What(*series, ctx) + ": " + parsed.status().message());
    iotdb.pattern = std::move(*parsed);
    if (const Field* layout = fields.Find("layout")) {
      ASSIGN_OR_RETURN(const Scalar l, ReadScalar(*layout, ctx));
      if (l.value == "long") {
        iotdb.layout = IotdbSeriesSpec::Layout::kLong;
      } else if (l.value == "wide") {
        iotdb.layout = IotdbSeriesSpec::Layout::kWide;
      } else {
        return UnknownChoice(l, What(*layout, ctx), "layout", {"long", "wide"});
      }
    }
    out.iotdb = std::move(iotdb);
    return Status::Ok();
  }

  Status ParseColumns(const Field& f, const std::string& entity_ctx, EntitySpec& out) {
    ASSIGN_OR_RETURN(const Fields columns,
                     ReadNamedMap(f, What(f, entity_ctx), "column", entity_ctx));
    if (columns.entries().empty()) {
      return Error(MarkOf(f), What(f, entity_ctx) + " must declare at least one column");
    }
    for (const Field& cf : columns.entries()) {
      ColumnSpec column;
      column.name = cf.name;
      column.where = Where(cf.key.Mark());
      RETURN_IF_ERROR(CheckIdentifier(column.name, cf.key.Mark(), "column name in " + entity_ctx));
      const std::string ctx = "column " + Quote(cf.name) + " of " + entity_ctx;
      ASSIGN_OR_RETURN(const Fields fields,
                       ReadFields(cf, ctx,
                                  {"from", "type", "required", "default", "format", "timezone",
                                   "geometry", "lookup", "references"}));

      column.from = column.name;
      if (const Field* from = fields.Find("from")) {
        ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*from, ctx));
        if (s.value != "$key") RETURN_IF_ERROR(CheckDottedPath(s, What(*from, ctx)));
        column.from = s.value;
      }

      ASSIGN_OR_RETURN(const Field* type, Require(fields, "type", cf, ctx));
      ASSIGN_OR_RETURN(const Scalar type_value, ReadScalar(*type, ctx));
      // PostgreSQL type names are case-insensitive; so are ours.
      const std::optional<ValueType> parsed = ParseValueTypeName(Lowercase(type_value.value));
      if (!parsed) {
        const auto& spellings = ValueTypeSpellings();
        return UnknownChoice(type_value, What(*type, ctx), "type",
                             std::vector<std::string_view>(spellings.begin(), spellings.end()));
      }
      column.type = *parsed;

      if (const Field* r = fields.Find("required")) {
        ASSIGN_OR_RETURN(column.required, ReadBool(*r, ctx));
      }
      if (const Field* d = fields.Find("default")) {
        ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*d, ctx));
        column.default_value = s.value;
      }
      if (column.required && column.default_value) {
        // A default makes a missing value acceptable, which contradicts
        // `required`; refusing beats guessing which one the user meant.
        return Error(fields.Find("default")->key.Mark(),
                     ctx + " sets both 'required' and 'default'; keep one");
      }
      if (const Field* fmt = fields.Find("format")) {
        ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*fmt, ctx));
        if (column.type != ValueType::kTimestamptz) {
          return Error(fmt->key.Mark(), What(*fmt, ctx) + ": only timestamptz columns take a " +
                                            "format, this one is " +
                                            std::string(ValueTypeName(column.type)));
        }
        if (s.value == "iso8601") {
          column.time_format = TimeFormat::kIso8601;
        } else if (s.value == "epoch_s") {
          column.time_format = TimeFormat::kEpochSeconds;
        } else if (s.value == "epoch_ms") {
          column.time_format = TimeFormat::kEpochMillis;
        } else {
          return UnknownChoice(s, What(*fmt, ctx), "format", {"iso8601", "epoch_s", "epoch_ms"});
        }
      }
      if (const Field* tz = fields.Find("timezone")) {
        if (column.type != ValueType::kTimestamptz) {
          return Error(tz->key.Mark(), What(*tz, ctx) + ": only timestamptz columns take a " +
                                           "timezone, this one is " +
                                           std::string(ValueTypeName(column.type)));
        }
        if (column.time_format != TimeFormat::kIso8601) {
          return Error(tz->key.Mark(), What(*tz, ctx) + ": epoch values are UTC instants " +
                                           "already; a timezone applies to ISO 8601 text only");
        }
        ASSIGN_OR_RETURN(column.timezone, ReadTimeZone(*tz, ctx));
      } else if (column.type == ValueType::kTimestamptz &&
                 column.time_format == TimeFormat::kIso8601) {
        column.timezone = source_timezone_;
      }
      if (const Field* g = fields.Find("geometry")) {
        RETURN_IF_ERROR(ParseGeometry(*g, ctx, column));
      } else if (column.type == ValueType::kGeometry) {
        return Error(type->key.Mark(),
                     ctx +
                         " is a geometry: say where it comes from with 'geometry: { lon: X, "
                         "lat: Y, srid: 4326 }', '{ wkt: X }' or '{ wkb: X }'");
      }
      if (const Field* l = fields.Find("lookup")) {
        if (column.geometry) {
          return Error(l->key.Mark(), ctx + " sets both 'geometry' and 'lookup'; keep one");
        }
        RETURN_IF_ERROR(ParseLookup(*l, ctx, out.name, column));
      }
      if (const Field* r = fields.Find("references")) {
        ASSIGN_OR_RETURN(const Scalar ref, ReadScalar(*r, ctx));
        const size_t dot = ref.value.find('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == ref.value.size()) {
          return Error(ref.mark, What(*r, ctx) + " must be ENTITY.COLUMN, e.g. users.id, not " +
                                     Quote(ref.raw));
        }
        column.references =
            ColumnSpec::Reference{ref.value.substr(0, dot), ref.value.substr(dot + 1)};
        pending_references_.push_back({out.name, column.name, ctx, ref});
      }
      out.columns.push_back(std::move(column));
    }
    return Status::Ok();
  }

  Status ParseParentColumns(const Field& f, const std::string& ctx, const EntitySpec& parent,
                            EntitySpec& out) {
    const std::string parent_ctx = What(f, ctx);
    ASSIGN_OR_RETURN(const Fields pairs, ReadNamedMap(f, parent_ctx, "column", parent_ctx));
    if (pairs.entries().empty()) {
      return Error(MarkOf(f), parent_ctx + " must map at least one column to a column of entity " +
                                  Quote(parent.name));
    }
    const std::vector<std::string_view> child_columns = ColumnNames(out);
    const std::vector<std::string_view> parent_columns = ColumnNames(parent);
    for (const Field& p : pairs.entries()) {
      if (out.FindColumn(p.name) == nullptr) {
        return Error(p.key.Mark(), parent_ctx + ": " + Quote(p.name) + " is not a column of " +
                                       ctx + Hint(p.name, child_columns));
      }
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(p, parent_ctx));
      if (parent.FindColumn(s.value) == nullptr) {
        std::string message =
            parent_ctx + ": " + Quote(s.raw) + " is not a column of entity " + Quote(parent.name);
        message += s.from_env() ? "; expected one of: " + JoinNames(parent_columns)
                                : Hint(s.value, parent_columns);
        return Error(s.mark, message);
      }
      out.parent_columns.emplace_back(p.name, s.value);
    }
    return Status::Ok();
  }

  // A list of column names of `entity` (a single name is accepted too).
  Status ReadColumnList(const Field& f, const std::string& ctx, const EntitySpec& entity,
                        std::vector<std::string>& names) {
    std::vector<YAML::Node> items;
    if (f.value.IsScalar()) {
      items.push_back(f.value);
    } else if (f.value.IsSequence()) {
      for (const YAML::Node& item : f.value) items.push_back(item);
    } else {
      return Error(MarkOf(f), What(f, ctx) + " must be a list of column names, not " +
                                  std::string(KindName(f.value)));
    }
    if (items.empty()) return Error(MarkOf(f), What(f, ctx) + " must name at least one column");
    for (const YAML::Node& item : items) {
      if (!item.IsScalar()) {
        return Error(item.Mark(), What(f, ctx) + ": each entry must be a column name, not " +
                                      std::string(KindName(item)));
      }
      ASSIGN_OR_RETURN(const Scalar s, ExpandScalar(item, What(f, ctx)));
      if (entity.FindColumn(s.value) == nullptr) {
        return UnknownChoice(s, What(f, ctx), "column", ColumnNames(entity));
      }
      if (std::find(names.begin(), names.end(), s.value) != names.end()) {
        return Error(s.mark, What(f, ctx) + ": column " + Quote(s.raw) + " is listed twice");
      }
      names.push_back(s.value);
    }
    return Status::Ok();
  }

  Status ParseGeometry(const Field& f, const std::string& column_ctx, ColumnSpec& column) {
    const std::string ctx = "'geometry' of " + column_ctx;
    if (column.type != ValueType::kGeometry) {
      return Error(f.key.Mark(), column_ctx + " has 'geometry' but is " +
                                     std::string(ValueTypeName(column.type)) +
                                     "; declare it 'type: geometry'");
    }
    ASSIGN_OR_RETURN(const Fields fields, ReadFields(f, ctx, {"lon", "lat", "wkt", "wkb", "srid"}));
    ColumnSpec::Geometry g;
    auto read_name = [&](const char* key, std::string& dest) -> Status {
      const Field* k = fields.Find(key);
      if (k == nullptr) return Status::Ok();
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*k, ctx));
      if (s.value.empty()) return Error(s.mark, What(*k, ctx) + " must not be empty");
      dest = s.value;
      return Status::Ok();
    };
    RETURN_IF_ERROR(read_name("lon", g.lon));
    RETURN_IF_ERROR(read_name("lat", g.lat));
    RETURN_IF_ERROR(read_name("wkt", g.wkt));
    RETURN_IF_ERROR(read_name("wkb", g.wkb));
    const int forms = (g.lon.empty() && g.lat.empty() ? 0 : 1) + (g.wkt.empty() ? 0 : 1) +
                      (g.wkb.empty() ? 0 : 1);
    if (forms != 1) {
      return Error(MarkOf(f), ctx + " must give exactly one of 'lon' with 'lat', 'wkt' or 'wkb'");
    }
    if (g.lon.empty() != g.lat.empty()) {
      return Error(MarkOf(f), ctx + " gives " +
                                  (g.lon.empty() ? "'lat' without 'lon'" : "'lon' without 'lat'"));
    }
    if (const Field* srid = fields.Find("srid")) {
      ASSIGN_OR_RETURN(const int64_t v, ReadInt(*srid, ctx));
      if (v < 0 || v > 999999) {
        return Error(MarkOf(*srid), What(*srid, ctx) + " must be between 0 and 999999");
      }
      g.srid = static_cast<int>(v);
      g.srid_given = true;
    }
    column.geometry = std::move(g);
    return Status::Ok();
  }

  Status ParseLookup(const Field& f, const std::string& column_ctx, const std::string& entity,
                     ColumnSpec& column) {
    const std::string ctx = "'lookup' of " + column_ctx;
    ASSIGN_OR_RETURN(const Fields fields, ReadFields(f, ctx, {"entity", "match", "returns"}));
    ColumnSpec::Lookup lookup;
    PendingLookup pending;
    pending.entity = entity;
    pending.column = column.name;
    pending.ctx = ctx;
    ASSIGN_OR_RETURN(const Field* e, Require(fields, "entity", f, ctx));
    ASSIGN_OR_RETURN(pending.target, ReadScalar(*e, ctx));
    lookup.entity = pending.target.value;
    ASSIGN_OR_RETURN(const Field* m, Require(fields, "match", f, ctx));
    ASSIGN_OR_RETURN(pending.match, ReadScalar(*m, ctx));
    lookup.match = pending.match.value;
    if (const Field* r = fields.Find("returns")) {
      ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*r, ctx));
      pending.returns = s;
      lookup.returns = s.value;
    } else {
      pending.returns.raw = pending.returns.value = lookup.returns;
      pending.returns.mark = f.key.Mark();
    }
    column.lookup = std::move(lookup);
    pending_lookups_.push_back(std::move(pending));
    return Status::Ok();
  }

  // `partition: { by: <time column of the key>, every: N day|days|week|
  // weeks|month|months|year|years }`.
  Status ParsePartition(const Field& f, const std::string& entity_ctx, EntitySpec& out) {
    const std::string ctx = "'partition' of " + entity_ctx;
    ASSIGN_OR_RETURN(const Fields fields, ReadFields(f, ctx, {"by", "every"}));
    TimePartitionSpec partition;
    partition.where = Where(f.key.Mark());
    ASSIGN_OR_RETURN(const Field* by, Require(fields, "by", f, ctx));
    ASSIGN_OR_RETURN(const Scalar column, ReadScalar(*by, ctx));
    const ColumnSpec* c = out.FindColumn(column.value);
    if (c == nullptr) {
      std::vector<std::string_view> names;
      for (const ColumnSpec& col : out.columns) names.push_back(col.name);
      return UnknownChoice(column, What(*by, ctx), "column", names);
    }
    if (c->type != ValueType::kTimestamptz && c->type != ValueType::kDate) {
      return Error(column.mark, What(*by, ctx) + ": column " + Quote(c->name) + " is " +
                                    std::string(ValueTypeName(c->type)) +
                                    "; a time partition needs a timestamptz or date column");
    }
    if (std::find(out.key.begin(), out.key.end(), c->name) == out.key.end()) {
      return Error(column.mark, What(*by, ctx) + ": column " + Quote(c->name) +
                                    " is not in the key; PostgreSQL needs the partition column "
                                    "in the primary key of a partitioned table");
    }
    partition.column = c->name;
    // PostgreSQL cuts names at 63 bytes: <table>_p2024_01_01 must fit whole.
    const std::string table = out.table.empty() ? out.name : out.table;
    if (table.size() + 12 > 63) {
      return Error(MarkOf(f), What(f, entity_ctx) + ": table name " + Quote(table) +
                                  " is too long for its partitions' names (<table>_pYYYY_MM_DD "
                                  "must fit PostgreSQL's 63 bytes: 51 at most)");
    }
    ASSIGN_OR_RETURN(const Field* every, Require(fields, "every", f, ctx));
    ASSIGN_OR_RETURN(const Scalar e, ReadScalar(*every, ctx));
    int count = 0;
    char unit[16] = {0};
    if (std::sscanf(e.value.c_str(), "%d %15s", &count, unit) != 2 || count < 1 || count > 1000) {
      return Error(e.mark, What(*every, ctx) + ": " + Quote(e.value) +
                               " is no interval; write e.g. 1 day, 1 week, 1 month, 3 months, "
                               "1 year");
    }
    const std::string u = Lowercase(unit);
    if (u == "day" || u == "days") {
      partition.days = count;
    } else if (u == "week" || u == "weeks") {
      partition.days = 7 * count;
    } else if (u == "month" || u == "months") {
      partition.months = count;
    } else if (u == "year" || u == "years") {
      partition.months = 12 * count;
    } else {
      return Error(e.mark, What(*every, ctx) + ": unknown unit " + Quote(unit) +
                               "; expected day, week, month or year");
    }
    out.partition = std::move(partition);
    return Status::Ok();
  }

  // `rollups: [{ table, every: N minutes|hours|days|weeks, by: [key columns],
  // values: [numeric columns], time: <timestamptz key column> }]`; `time`
  // defaults to the partition column.
  Status ParseRollups(const Field& f, const std::string& entity_ctx, EntitySpec& out) {
    if (!f.value.IsSequence()) {
      return Error(MarkOf(f), What(f, entity_ctx) + " must be a list of rollups, not " +
                                  std::string(KindName(f.value)));
    }
    size_t n = 0;
    for (const YAML::Node& item : f.value) {
      const std::string ctx = "rollup " + std::to_string(++n) + " of " + entity_ctx;
      const Field entry{"", item, item};
      ASSIGN_OR_RETURN(const Fields fields,
                       ReadFields(entry, ctx, {"table", "every", "by", "values", "time"}));
      RollupSpec rollup;
      rollup.where = Where(item.Mark());
      ASSIGN_OR_RETURN(const Field* table, Require(fields, "table", entry, ctx));
      ASSIGN_OR_RETURN(const Scalar t, ReadScalar(*table, ctx));
      RETURN_IF_ERROR(CheckIdentifier(t.value, t.mark, What(*table, ctx)));
      // Its functions and triggers are named <table>_on_insert and the like.
      if (t.value.size() + 12 > kMaxIdentifierBytes) {
        return Error(t.mark, What(*table, ctx) + ": " + Quote(t.value) +
                                 " is too long for the names of its triggers (<table>_on_truncate "
                                 "must fit PostgreSQL's 63 bytes: 51 at most)");
      }
      if (t.value == out.table) {
        return Error(t.mark, What(*table, ctx) + ": " + Quote(t.value) +
                                 " is the entity's own table; name the rollup's table");
      }
      for (const RollupSpec& other : out.rollups) {
        if (other.table == t.value) {
          return Error(t.mark, What(*table, ctx) + ": table " + Quote(t.value) +
                                   " is already the rollup declared at " + other.where.ToString());
        }
      }
      rollup.table = t.value;

      const auto is_key = [&](const std::string& c) {
        return std::find(out.key.begin(), out.key.end(), c) != out.key.end();
      };
      if (const Field* tf = fields.Find("time")) {
        ASSIGN_OR_RETURN(const Scalar c, ReadScalar(*tf, ctx));
        const ColumnSpec* col = out.FindColumn(c.value);
        if (col == nullptr) return UnknownChoice(c, What(*tf, ctx), "column", ColumnNames(out));
        if (col->type != ValueType::kTimestamptz || !is_key(col->name)) {
          return Error(c.mark, What(*tf, ctx) + ": column " + Quote(col->name) +
                                   " must be a timestamptz column of the key");
        }
        rollup.time_column = col->name;
      } else if (out.partition &&
                 out.FindColumn(out.partition->column)->type == ValueType::kTimestamptz) {
        rollup.time_column = out.partition->column;
      } else {
        return Error(item.Mark(), ctx +
                                      ": name its 'time' column (a timestamptz column of the "
                                      "key); only a time partition's column is the default");
      }

      ASSIGN_OR_RETURN(const Field* every, Require(fields, "every", entry, ctx));
      ASSIGN_OR_RETURN(const Scalar e, ReadScalar(*every, ctx));
      int count = 0;
      char unit[16] = {0};
      if (std::sscanf(e.value.c_str(), "%d %15s", &count, unit) != 2 || count < 1 || count > 1000) {
        return Error(e.mark, What(*every, ctx) + ": " + Quote(e.value) +
                                 " is no interval; write e.g. 15 minutes, 1 hour, 1 day, 1 week");
      }
      const std::string u = Lowercase(unit);
      int64_t unit_seconds = 0;
      if (u == "minute" || u == "minutes") unit_seconds = 60;
      if (u == "hour" || u == "hours") unit_seconds = 3600;
      if (u == "day" || u == "days") unit_seconds = 86400;
      if (u == "week" || u == "weeks") unit_seconds = 7 * 86400;
      if (unit_seconds == 0) {
        // A month has no fixed length, which the bucket arithmetic needs.
        return Error(e.mark, What(*every, ctx) + ": unknown unit " + Quote(unit) +
                                 "; expected minute, hour, day or week");
      }
      rollup.every_seconds = count * unit_seconds;

      ASSIGN_OR_RETURN(const Field* by, Require(fields, "by", entry, ctx));
      RETURN_IF_ERROR(ReadColumnList(*by, ctx, out, rollup.by));
      for (const std::string& c : rollup.by) {
        // The rollup's primary key holds them: NOT NULL, as key columns are.
        const ValueType type = out.FindColumn(c)->type;
        if (type == ValueType::kJsonb || type == ValueType::kGeometry) {
          // Equal values of these print differently, and the lock slot of a
          // bucket hashes the group's text.
          return Error(MarkOf(*by), What(*by, ctx) + ": column " + Quote(c) + " is " +
                                        std::string(ValueTypeName(type)) +
                                        ", which a rollup cannot group by");
        }
        if (!is_key(c) || c == rollup.time_column) {
          return Error(MarkOf(*by), What(*by, ctx) + ": column " + Quote(c) +
                                        " is not a key column other than the time; a rollup "
                                        "groups by key columns, which are never NULL");
        }
      }
      ASSIGN_OR_RETURN(const Field* values, Require(fields, "values", entry, ctx));
      RETURN_IF_ERROR(ReadColumnList(*values, ctx, out, rollup.values));
      for (const std::string& c : rollup.values) {
        const ValueType type = out.FindColumn(c)->type;
        if (type != ValueType::kInt32 && type != ValueType::kInt64 && type != ValueType::kNumeric &&
            type != ValueType::kFloat64) {
          return Error(MarkOf(*values), What(*values, ctx) + ": column " + Quote(c) + " is " +
                                            std::string(ValueTypeName(type)) +
                                            "; a rollup sums integer, bigint, numeric or double "
                                            "precision columns");
        }
        // <column>_finite_sum and the like must fit PostgreSQL's 63 bytes.
        if (c.size() + 11 > kMaxIdentifierBytes) {
          return Error(MarkOf(*values), What(*values, ctx) + ": column name " + Quote(c) +
                                            " is too long for the rollup's <column>_finite_sum");
        }
      }
      // The rollup's columns: the groups, bucket_start, row_count, and four
      // per value; a group named like one of the others would be ambiguous.
      std::vector<std::string> names = rollup.by;
      names.insert(names.end(), {"bucket_start", "row_count"});
      for (const std::string& v : rollup.values) {
        for (const char* suffix :
             {"_count", "_sum", "_min", "_max", "_finite_sum", "_nans", "_pos_infs", "_neg_infs"}) {
          names.push_back(v + suffix);
        }
      }
      for (size_t i = 0; i < names.size(); ++i) {
        if (std::find(names.begin() + i + 1, names.end(), names[i]) != names.end()) {
          return Error(item.Mark(), ctx + ": its table would have two columns named " +
                                        Quote(names[i]) + "; rename a column");
        }
      }
      out.rollups.push_back(std::move(rollup));
    }
    return Status::Ok();
  }

  Status ParseDedup(const Field& f, const std::string& entity_ctx, EntitySpec& out) {
    const std::string ctx = "'dedup' of " + entity_ctx;
    ASSIGN_OR_RETURN(const Fields fields, ReadFields(f, ctx, {"key", "keep_last_by"}));
    DedupSpec dedup;
    dedup.where = Where(f.key.Mark());
    if (const Field* k = fields.Find("key")) {
      RETURN_IF_ERROR(ReadColumnList(*k, ctx, out, dedup.key));
      // The merge deduplicates on its conflict key, which is the entity's key.
      std::vector<std::string> a = dedup.key, b = out.key;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b) {
        std::vector<std::string_view> key(out.key.begin(), out.key.end());
        return Error(MarkOf(*k), What(*k, ctx) + " must be the entity's key (" + JoinNames(key) +
                                     "): rows are deduplicated on the key they are merged on");
      }
    } else {
      dedup.key = out.key;
    }
    ASSIGN_OR_RETURN(const Field* by, Require(fields, "keep_last_by", f, ctx));
    RETURN_IF_ERROR(ReadColumnList(*by, ctx, out, dedup.keep_last_by));
    for (const auto& name : dedup.keep_last_by) {
      const ColumnSpec* c = out.FindColumn(name);
      if (c->type == ValueType::kJsonb || c->type == ValueType::kGeometry ||
          c->type == ValueType::kBytes || c->lookup) {
        return Error(MarkOf(*by), What(*by, ctx) + ": column " + Quote(name) + " is " +
                                      std::string(c->lookup ? "a lookup" : ValueTypeName(c->type)) +
                                      ", which has no order to keep the last row by");
      }
    }
    out.dedup = std::move(dedup);
    return Status::Ok();
  }

  Status ParseIndexes(const Field& f, const std::string& entity_ctx, EntitySpec& out) {
    if (!f.value.IsSequence()) {
      return Error(MarkOf(f), What(f, entity_ctx) + " must be a list of indexes, not " +
                                  std::string(KindName(f.value)));
    }
    size_t n = 0;
    for (const YAML::Node& item : f.value) {
      const std::string ctx = "index " + std::to_string(++n) + " of " + entity_ctx;
      const Field entry{"", item, item};
      ASSIGN_OR_RETURN(const Fields fields,
                       ReadFields(entry, ctx, {"columns", "unique", "method", "name"}));
      IndexSpec index;
      index.where = Where(item.Mark());
      ASSIGN_OR_RETURN(const Field* cols, Require(fields, "columns", entry, ctx));
      RETURN_IF_ERROR(ReadColumnList(*cols, ctx, out, index.columns));
      if (const Field* u = fields.Find("unique")) {
        ASSIGN_OR_RETURN(index.unique, ReadBool(*u, ctx));
      }
      bool any_geometry = false;
      for (const auto& c : index.columns) {
        any_geometry |= out.FindColumn(c)->type == ValueType::kGeometry;
      }
      index.method = any_geometry ? "gist" : "btree";
      if (const Field* m = fields.Find("method")) {
        ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*m, ctx));
        static const std::vector<std::string_view> kMethods = {"btree", "gist", "brin", "hash",
                                                               "gin"};
        const std::string method = Lowercase(s.value);
        if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
          return UnknownChoice(s, What(*m, ctx), "index method", kMethods);
        }
        if (any_geometry && method != "gist" && method != "brin") {
          return Error(s.mark,
                       ctx + ": geometry columns need method gist (or brin), not " + Quote(s.raw));
        }
        index.method = method;
      }
      if (index.unique && index.method != "btree") {
        return Error(item.Mark(), ctx + ": only btree indexes can be unique");
      }
      if (const Field* nm = fields.Find("name")) {
        ASSIGN_OR_RETURN(const Scalar s, ReadScalar(*nm, ctx));
        RETURN_IF_ERROR(CheckIdentifier(s.value, s.mark, What(*nm, ctx)));
        index.name = s.value;
      } else {
        index.name = out.table;
        for (const auto& c : index.columns) index.name += "_" + c;
        index.name += "_idx";
        if (index.name.size() > kMaxIdentifierBytes) {
          return Error(item.Mark(), ctx + ": the default name " + Quote(index.name) +
                                        " is longer than 63 bytes; give the index a 'name'");
        }
      }
      for (const IndexSpec& other : out.indexes) {
        if (other.name == index.name) {
          return Error(item.Mark(), ctx + ": index name " + Quote(index.name) +
                                        " is already used at " + other.where.ToString());
        }
      }
      out.indexes.push_back(std::move(index));
    }
    return Status::Ok();
  }

  // Lookups name entities that may be declared after them, so they are
  // checked once every entity is known; so are entities without a source.
  Status CheckLookups(const MigrationSpec& spec) {
    std::vector<std::string_view> entity_names;
    for (const EntitySpec& e : spec.entities) entity_names.push_back(e.name);
    std::vector<std::string> targets;
    for (const PendingLookup& p : pending_lookups_) {
      const EntitySpec* target = spec.FindEntity(p.target.value);
      const EntitySpec* self = spec.FindEntity(p.entity);
      if (target == nullptr) {
        return UnknownChoice(p.target, "'entity' in " + p.ctx, "entity", entity_names);
      }
      if (target == self) {
        return Error(p.target.mark, p.ctx + ": an entity cannot look up in itself");
      }
      if (std::none_of(spec.entities.begin(), spec.entities.end(),
                       [&](const EntitySpec& e) { return &e == target; })) {
        return Error(p.target.mark, p.ctx + ": " + Quote(target->name) +
                                        " is a child entity; lookups need a top-level one");
      }
      auto unknown_column = [&](const Scalar& given, const char* key) {
        std::string message = "'" + std::string(key) + "' in " + p.ctx + ": unknown column " +
                              Quote(given.raw) + " of entity " + Quote(target->name);
        message += given.from_env() ? "; expected one of: " + JoinNames(ColumnNames(*target))
                                    : Hint(given.value, ColumnNames(*target));
        return Error(given.mark, message);
      };
      const ColumnSpec* match = target->FindColumn(p.match.value);
      if (match == nullptr) return unknown_column(p.match, "match");
      if (match->type != ValueType::kText) {
        return Error(p.match.mark, p.ctx + ": 'match' column " + Quote(match->name) + " of " +
                                       Quote(target->name) + " must be text, not " +
                                       std::string(ValueTypeName(match->type)));
      }
      const ColumnSpec* returns = target->FindColumn(p.returns.value);
      if (returns == nullptr) return unknown_column(p.returns, "returns");
      const ColumnSpec* column = self->FindColumn(p.column);
      if (returns->type != column->type) {
        return Error(p.returns.mark,
                     p.ctx + ": " + Quote(target->name + "." + returns->name) + " is " +
                         std::string(ValueTypeName(returns->type)) + " but the column is " +
                         std::string(ValueTypeName(column->type)) + "; declare them alike");
      }
      if (target->key.size() != 1 || target->key[0] != returns->name) {
        return Error(p.returns.mark, p.ctx + ": 'returns' must be the key of " +
                                         Quote(target->name) + ", a single column");
      }
      if (returns->type != ValueType::kInt32 && returns->type != ValueType::kInt64 &&
          returns->type != ValueType::kUuid) {
        return Error(p.returns.mark,
                     p.ctx + ": 'returns' column " + Quote(returns->name) +
                         " must be integer, bigint or uuid, so that new names get a generated id");
      }
      targets.push_back(target->name);
    }
    for (const auto& [name, mark] : sourceless_) {
      if (std::find(targets.begin(), targets.end(), name) == targets.end()) {
        return Error(mark, "missing required key 'source' in entity " + Quote(name) +
                               " (only a dimension that a 'lookup' fills may have none)");
      }
    }
    return Status::Ok();
  }

  // A lookup as written, checked by CheckLookups.
  // `references: users.id` on a column, checked once every entity is known.
  struct PendingReference {
    std::string entity;
    std::string column;
    std::string ctx;
    Scalar target;
  };
  std::vector<PendingReference> pending_references_;

  Status CheckReferences(const MigrationSpec& spec) {
    std::vector<std::string> names;
    std::function<void(const EntitySpec&)> collect = [&](const EntitySpec& e) {
      names.push_back(e.name);
      for (const auto& c : e.children) collect(c);
    };
    for (const EntitySpec& e : spec.entities) collect(e);
    const std::vector<std::string_view> views(names.begin(), names.end());
    for (const PendingReference& p : pending_references_) {
      const std::string entity = p.target.value.substr(0, p.target.value.find('.'));
      const std::string column = p.target.value.substr(p.target.value.find('.') + 1);
      const EntitySpec* target = spec.FindEntity(entity);
      if (target == nullptr) {
        return Error(p.target.mark, "'references' in " + p.ctx + ": unknown entity " +
                                        Quote(entity) + Hint(entity, views));
      }
      const ColumnSpec* to = target->FindColumn(column);
      if (to == nullptr) {
        return Error(p.target.mark, "'references' in " + p.ctx + ": unknown column " +
                                        Quote(column) + " of entity " + Quote(entity) +
                                        Hint(column, ColumnNames(*target)));
      }
      const ColumnSpec* from = spec.FindEntity(p.entity)->FindColumn(p.column);
      if (from != nullptr && from->type != to->type) {
        return Error(p.target.mark, "'references' in " + p.ctx + ": " + Quote(p.column) + " is " +
                                        std::string(ValueTypeName(from->type)) + " but " + entity +
                                        "." + column + " is " +
                                        std::string(ValueTypeName(to->type)));
      }
    }
    return Status::Ok();
  }

  struct PendingLookup {
    std::string entity;  // the entity holding the column
    std::string column;
    std::string ctx;
    Scalar target;
    Scalar match;
    Scalar returns;
  };

  const std::string file_;
  const fs::path base_dir_;
  std::map<std::string, Location, std::less<>> entity_names_;
  std::vector<PendingLookup> pending_lookups_;
  std::vector<std::pair<std::string, YAML::Mark>> sourceless_;
  // The zone of the source of the top-level entity being parsed (its
  // children included), which its timestamptz columns inherit.
  std::shared_ptr<const TimeZone> source_timezone_;
};

Result<fs::path> AbsoluteDir(const std::string& dir) {
  std::error_code ec;
  const fs::path abs = fs::absolute(fs::path(dir.empty() ? "." : dir), ec);
  if (ec) return IoError("cannot resolve folder '" + dir + "': " + ec.message());
  fs::path out = abs.lexically_normal();
  if (!out.has_filename() && !out.relative_path().empty()) out = out.parent_path();
  return out;
}

}  // namespace

Result<MigrationSpec> ParseSpec(const std::string& yaml_text, const std::string& display_path,
                                const std::string& base_dir) {
  ASSIGN_OR_RETURN(const fs::path base, AbsoluteDir(base_dir));
  // yaml-cpp reports everything by exception; none may leave this function.
  try {
    const std::vector<YAML::Node> docs = YAML::LoadAll(yaml_text);
    if (docs.empty()) return InvalidArgument(display_path + ":1:1: the spec is empty");
    if (docs.size() > 1) {
      const YAML::Mark m = docs[1].Mark();
      return InvalidArgument(
          Location{display_path, std::max(m.line, 0) + 1, std::max(m.column, 0) + 1}.ToString() +
          ": the spec holds " + std::to_string(docs.size()) + " YAML documents; expected one");
    }
    if (docs[0].IsNull()) return InvalidArgument(display_path + ":1:1: the spec is empty");
    Loader loader(display_path, base);
    return loader.Load(docs[0]);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(
        Location{display_path, std::max(e.mark.line, 0) + 1, std::max(e.mark.column, 0) + 1}
            .ToString() +
        ": invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgument(display_path + ": cannot read the spec: " + e.what());
  }
}

Result<MigrationSpec> LoadSpec(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return InvalidArgument("cannot read spec '" + path + "': it is a folder, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string reason = err != 0 ? std::strerror(err) : "cannot open";
    if (err == ENOENT) return NotFound("cannot read spec '" + path + "': " + reason);
    return IoError("cannot read spec '" + path + "': " + reason);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return IoError("cannot read spec '" + path + "': read failed");

  ASSIGN_OR_RETURN(const fs::path absolute, AbsoluteDir(path));
  ASSIGN_OR_RETURN(MigrationSpec spec,
                   ParseSpec(text.str(), path, absolute.parent_path().string()));
  spec.spec_path = absolute.string();
  return spec;
}

}  // namespace cutover::spec
