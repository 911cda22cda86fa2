// Reading one key's row from PostgreSQL for the gateway ("PostgresReader design").
#include "gateway/postgres_reader.h"

#include <fmt/format.h>

#include "common/redact.h"
#include "engine/core/entity_plan.h"
#include "engine/core/key_literal.h"
#include "engine/core/source_factory.h"
#include "map/document_mapper.h"
#include "stores/postgres/table_reader.h"

namespace cutover::gateway {
namespace {
// How long a PostgreSQL found unreachable is not asked again.
constexpr std::chrono::seconds kDownFor{1};
}  // namespace

// A connection and, per entity, what turns a key into its key columns (not
// thread-safe, so one set per session).
struct PostgresReader::Session {
  std::unique_ptr<pg_store::PgConnection> conn;
  struct Keys {
    spec::EntitySpec entity;              // the entity's key columns only; the mapper's
    std::unique_ptr<store::Store> store;  // KeyRecords reads nothing from it
    std::unique_ptr<map::RecordMapper> mapper;
    store::StoreBatch in;
    map::MappedBatch mapped;
  };
  std::map<std::string, Keys> keys;
};

Result<std::unique_ptr<PostgresReader>> PostgresReader::Create(
    std::shared_ptr<const spec::MigrationSpec> migration, Options options,
    const std::vector<std::string>& entity_names) {
  std::unique_ptr<PostgresReader> r(new PostgresReader());
  r->migration_ = std::move(migration);
  r->options_ = std::move(options);
  for (const std::string& name : entity_names) {
    const spec::EntitySpec* e = r->migration_->FindEntity(name);
    if (e == nullptr) return InvalidArgument("no entity '" + name + "' in the spec");
    Entity& entity = r->entities_[name];
    entity.shape = engine::PlanTables(*r->migration_, *e)[0].shape;
    entity.hasher = std::make_unique<engine::RowHasher>(entity.shape);
    // The key columns alone hash a key as the whole row's KeyHash does.
    pg_store::TableShape keys = entity.shape;
    keys.columns.clear();
    for (const auto& k : entity.shape.key) {
      keys.columns.push_back(entity.shape.columns[entity.shape.IndexOf(k)]);
    }
    entity.key_hasher = std::make_unique<engine::RowHasher>(keys);
    if (e->write_back && e->redis) {
      ASSIGN_OR_RETURN(entity.builder, map::RecordBuilder::Create(*e));
    } else if (const spec::SourceSpec* src = r->migration_->FindSource(e->source);
               e->write_back && src != nullptr && src->type == "json" && spec::JsonKeyField(*e)) {
      ASSIGN_OR_RETURN(entity.document_builder, map::DocumentBuilder::Create(*e));
      ASSIGN_OR_RETURN(entity.family, engine::FamilyReader::Create(*r->migration_, *e));
    }
  }
  return r;
}

PostgresReader::~PostgresReader() = default;

bool PostgresReader::Rebuilds(const std::string& entity) const {
  auto it = entities_.find(entity);
  return it != entities_.end() &&
         (it->second.builder != nullptr || it->second.document_builder != nullptr);
}

uint64_t PostgresReader::Digest(const std::string& entity, const RowBatch& rows, size_t row) const {
  std::vector<uint64_t> column_hashes;
  return entities_.at(entity).hasher->RowHash(rows, row, &column_hashes);
}

Result<std::unique_ptr<PostgresReader::Session>> PostgresReader::NewSession() {
  auto s = std::make_unique<Session>();
  ASSIGN_OR_RETURN(s->conn, pg_store::PgConnection::Connect(options_.url));
  RETURN_IF_ERROR(
      s->conn->Exec(fmt::format("SET statement_timeout = {}", options_.timeout.count())));
  for (const auto& [name, entity] : entities_) {
    const spec::EntitySpec& e = *migration_->FindEntity(name);
    Session::Keys& keys = s->keys[name];  // a map node: the mapper may keep its address
    keys.entity = e;
    keys.entity.children.clear();
    keys.entity.columns.clear();
    keys.entity.tag.reset();
    for (const auto& k : e.key) keys.entity.columns.push_back(*e.FindColumn(k));
    ASSIGN_OR_RETURN(keys.store, engine::OpenEntityStore(*migration_, e, 1));
    ASSIGN_OR_RETURN(keys.mapper, map::DocumentMapper::Create(keys.entity));
  }
  return s;
}

Result<PostgresRow> PostgresReader::Read(const std::string& entity, const std::string& key) {
  ASSIGN_OR_RETURN(auto rows, ReadMany(entity, {key}, /*rebuild=*/true));
  return std::move(rows[key]);
}

Result<std::map<std::string, PostgresRow>> PostgresReader::ReadMany(
    const std::string& entity_name, const std::vector<std::string>& keys, bool rebuild) {
  auto entity = entities_.find(entity_name);
  if (entity == entities_.end()) {
    return InvalidArgument("entity '" + entity_name + "' is not read through this gateway");
  }
  std::map<std::string, PostgresRow> out;
  for (const std::string& k : keys) out[k];
  if (keys.empty()) return out;
  // A session: an idle one, a new one while under the limit, or wait.
  std::unique_ptr<Session> session;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (std::chrono::steady_clock::now() < down_until_) {
        return Unavailable("PostgreSQL was unreachable a moment ago: " + down_reason_);
      }
      if (!idle_.empty()) {
        session = std::move(idle_.back());
        idle_.pop_back();
        break;
      }
      if (open_ < options_.connections) {
        ++open_;
        break;
      }
      released_.wait(lock);
    }
  }
  auto fail = [&](Status st) -> Status {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    released_.notify_one();
    if (st.code() == StatusCode::kUnavailable) {
      down_until_ = std::chrono::steady_clock::now() + kDownFor;
      down_reason_ = RedactSecrets(st.message());
    }
    return st;
  };
  // A session goes back idle unless its connection is in doubt.
  auto give_back = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(session));
    released_.notify_one();
  };
  if (session == nullptr) {
    auto made = NewSession();
    if (!made.ok()) return fail(made.status());
    session = std::move(*made);
  }
  Session::Keys& mapping = session->keys.at(entity_name);
  std::vector<store::RecordKey> wanted;
  for (const std::string& k : keys) wanted.push_back({k});
  Status st = mapping.store->key_reader()->KeyRecords(wanted, &mapping.in);
  if (!st.ok()) return fail(st);
  mapping.mapper->Map(mapping.in, &mapping.mapped);
  const RowBatch& key_rows = mapping.mapped.tables[0];
  if (!mapping.mapped.rejects.empty() || key_rows.num_rows() != keys.size()) {
    give_back();
    return DataError("a key does not map to the entity's key columns" +
                     (mapping.mapped.rejects.empty()
                          ? std::string()
                          : ": " + mapping.mapped.rejects.front().reason));
  }
  // Key hash -> key, to give each row read back to its key.
  std::map<uint64_t, std::string> by_hash;
  std::string tuples;
  for (size_t r = 0; r < key_rows.num_rows(); ++r) {
    by_hash[entity->second.key_hasher->KeyHash(key_rows, r)] =
        mapping.in.source_keys[mapping.mapped.origins[0][r].record];
    std::string tuple;
    for (size_t c = 0; c < key_rows.columns.size(); ++c) {
      const std::optional<std::string> literal = engine::KeyLiteral(key_rows.columns[c], r);
      if (!literal) {
        give_back();
        return DataError("a key's columns have no exact SQL form to look them up by");
      }
      tuple += (c ? ", " : "") + *literal;
    }
    tuples += (r ? ", (" : "(") + tuple + ")";
  }
  // Cast as ScanTable reads the columns, so a cast to the column's own type
  // keeps the key index.
  std::string columns;
  for (size_t c = 0; c < key_rows.columns.size(); ++c) {
    columns += (c ? ", " : "") + pg_store::QuoteIdent(key_rows.names[c]) +
               "::" + std::string(PostgresTypeName(key_rows.columns[c].type()));
  }
  const std::string where = "(" + columns + ") IN (VALUES " + tuples + ")";
  std::vector<uint64_t> column_hashes;
  const Entity& e = entity->second;
  // A row found: its digest, and the record rebuilt from it if asked.
  auto take = [&](const RowBatch& rows, size_t r, const engine::FamilyPage* page) -> Status {
    const uint64_t digest = e.hasher->RowHash(rows, r, &column_hashes);
    auto key = by_hash.find(e.hasher->KeyHash(column_hashes));
    if (key == by_hash.end()) return Status::Ok();
    PostgresRow& row = out[key->second];
    row.found = true;
    row.digest = digest;
    if (rebuild && e.builder) {
      ASSIGN_OR_RETURN(row.document, e.builder->Build(rows, r));
    } else if (rebuild && page != nullptr) {
      row.document.clear();
      RETURN_IF_ERROR(e.document_builder->Append(rows, r, page->children[r], &row.document));
    }
    return Status::Ok();
  };
  if (rebuild && e.document_builder) {
    // The rows with their children, each record whole.
    engine::FamilyPage page;
    st = e.family->Read(session->conn.get(), where, "", &page);
    for (size_t r = 0; st.ok() && r < page.rows.num_rows(); ++r) st = take(page.rows, r, &page);
  } else {
    st = pg_store::ScanTable(
        session->conn.get(), e.shape, keys.size() + 1,
        [&](const RowBatch& rows) -> Status {
          for (size_t r = 0; r < rows.num_rows(); ++r) RETURN_IF_ERROR(take(rows, r, nullptr));
          return Status::Ok();
        },
        where);
  }
  if (!st.ok()) {
    if (st.sqlstate() == "57014") {  // query_canceled: the statement timeout
      give_back();                   // the connection is sound; only this read gave up
      return Unavailable(
          fmt::format("PostgreSQL did not answer within {} ms", options_.timeout.count()));
    }
    if (session->conn->IsHealthy() && st.code() != StatusCode::kUnavailable) {
      give_back();
      return st;
    }
    return fail(st);
  }
  give_back();
  return out;
}

}  // namespace cutover::gateway
