// LookupResolver: names -> ids through a per-column cache, with the misses of
// a batch fetched (and, for a backfill, created) in one round trip.
#include "engine/core/lookup_resolver.h"

#include <algorithm>
#include <charconv>
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

#include "map/value_parsers.h"
#include "stores/postgres/retry.h"

namespace cutover::engine {
namespace {

// A PostgreSQL text[] literal: every element quoted, \ and " escaped.
std::string TextArrayLiteral(const std::vector<std::string>& names) {
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : names[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

Result<std::unique_ptr<LookupResolver>> LookupResolver::Create(
    const spec::MigrationSpec& migration, const spec::EntitySpec& entity, std::string url,
    bool create_missing, std::chrono::milliseconds retry_for) {
  std::unique_ptr<LookupResolver> r(new LookupResolver(std::move(url), create_missing));
  r->retry_for_ = retry_for;
  for (size_t i = 0; i < entity.columns.size(); ++i) {
    const auto& c = entity.columns[i];
    if (!c.lookup) continue;
    const spec::EntitySpec* dim = migration.FindEntity(c.lookup->entity);
    if (dim == nullptr) {
      return InvalidArgument(fmt::format("{}: lookup entity '{}' does not exist",
                                         c.where.ToString(), c.lookup->entity));
    }
    LookupColumn col;
    col.index = static_cast<int>(i);
    col.type = c.type;
    col.dimension = dim;
    col.table = pg_store::QualifiedName(dim->schema, dim->table.empty() ? dim->name : dim->table);
    col.match = pg_store::QuoteIdent(c.lookup->match);
    col.returns = pg_store::QuoteIdent(c.lookup->returns);
    r->columns_.push_back(std::move(col));
  }
  return r;
}

std::vector<const spec::EntitySpec*> LookupResolver::Dimensions() const {
  std::vector<const spec::EntitySpec*> out;
  for (const auto& c : columns_) {
    if (std::find(out.begin(), out.end(), c.dimension) == out.end()) out.push_back(c.dimension);
  }
  return out;
}

Status LookupResolver::Fetch(LookupColumn& column, const std::vector<std::string>& names) {
  pg_store::RetryBudget budget(retry_for_);
  const std::string what = fmt::format("resolving {} names in {}", names.size(), column.table);
  for (;;) {
    if (conn_ == nullptr || !conn_->IsHealthy()) {
      auto fresh = pg_store::PgConnection::Connect(url_);
      if (!fresh.ok()) {
        Status final;
        if (!budget.Again(fresh.status(), what, &final)) return final;
        continue;
      }
      conn_ = std::move(fresh).value();
    }
    const std::string array = TextArrayLiteral(names);
    Status st;
    if (create_missing_) {
      // Sorted, so two resolvers inserting overlapping names lock them in
      // the same order and cannot deadlock.
      st = conn_->Exec("BEGIN");
      if (st.ok()) {
        auto inserted = conn_->Query(
            fmt::format("INSERT INTO {0} ({1}) SELECT n FROM unnest($1::text[]) AS n ORDER BY n "
                        "COLLATE \"C\" ON CONFLICT ({1}) DO NOTHING",
                        column.table, column.match),
            {array});
        st = inserted.ok() ? conn_->Exec("COMMIT") : inserted.status();
      }
      if (!st.ok() && conn_->IsHealthy()) (void)conn_->Exec("ROLLBACK");
    }
    if (st.ok()) {
      auto rows =
          conn_->Query(fmt::format("SELECT {}, {}::text FROM {} WHERE {} = ANY($1::text[])",
                                   column.match, column.returns, column.table, column.match),
                       {array});
      if (rows.ok()) {
        for (const auto& row : rows->rows) {
          if (!row[0] || !row[1]) continue;
          LookupColumn::Id id;
          if (column.type == ValueType::kUuid) {
            ASSIGN_OR_RETURN(auto uuid, map::ParseUuid(*row[1]));
            id.bytes.assign(reinterpret_cast<const char*>(uuid.data()), uuid.size());
          } else {
            ASSIGN_OR_RETURN(id.number, map::ParseInt64(*row[1]));
          }
          column.cache.emplace(*row[0], std::move(id));
        }
        return Status::Ok();
      }
      st = rows.status();
    }
    // Both statements are idempotent: reconnect (when lost) and run them again.
    Status final;
    if (!budget.Again(st, what, &final)) return final;
    if (st.code() == StatusCode::kUnavailable) conn_.reset();
  }
}

Status LookupResolver::Resolve(map::MappedBatch* mapped) {
  if (columns_.empty() || mapped->tables.empty()) return Status::Ok();
  RowBatch& rows = mapped->tables[0];
  const size_t n = rows.num_rows();
  for (size_t k = 0; k < columns_.size(); ++k) {
    const int ci = columns_[k].index;
    const Column& names = rows.columns[ci];
    std::vector<std::string> missing;
    {
      std::shared_lock lock(mu_);
      std::unordered_set<std::string_view> seen;
      for (size_t r = 0; r < n; ++r) {
        if (names.IsNull(r)) continue;
        const std::string_view name = names.BytesAt(r);
        if (columns_[k].cache.contains(name) || !seen.insert(name).second) continue;
        missing.emplace_back(name);
      }
    }
    if (!missing.empty()) {
      std::unique_lock lock(mu_);
      RETURN_IF_ERROR(Fetch(columns_[k], missing));
    }
    Column ids(columns_[k].type);
    std::shared_lock lock(mu_);
    const auto& cache = columns_[k].cache;
    for (size_t r = 0; r < n; ++r) {
      if (names.IsNull(r)) {
        ids.AppendNull();
        continue;
      }
      auto it = cache.find(names.BytesAt(r));
      if (it == cache.end()) {
        ids.AppendNull();  // verify: a name the dimension does not hold
      } else if (columns_[k].type == ValueType::kUuid) {
        ids.AppendBytes(it->second.bytes);
      } else {
        ids.AppendInt(it->second.number);
      }
    }
    rows.columns[ci] = std::move(ids);
  }
  return Status::Ok();
}

}  // namespace cutover::engine
