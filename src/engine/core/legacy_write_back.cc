// LegacyWriteBack: a page of keys locked, read again, written into the legacy
// store, then unlocked with the transaction's commit.
#include "engine/core/legacy_write_back.h"

#include <fmt/format.h>

#include <set>

#include "catalog/key_locks.h"
#include "common/failpoint.h"
#include "engine/core/entity_plan.h"
#include "engine/core/key_literal.h"
#include "engine/core/source_factory.h"
#include "map/document_mapper.h"
#include "stores/postgres/table_reader.h"
#include "stores/postgres/transaction.h"

namespace cutover::engine {

std::string KeyColumnList(const pg_store::TableShape& shape, std::string_view prefix) {
  std::string out;
  for (size_t i = 0; i < shape.key.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::string(prefix) + pg_store::QuoteIdent(shape.key[i]);
  }
  return out;
}

std::optional<std::string> KeyTupleLiteral(const RowBatch& rows, const pg_store::TableShape& shape,
                                           size_t r) {
  std::string out;
  for (size_t i = 0; i < shape.key.size(); ++i) {
    const int c = rows.IndexOf(shape.key[i]);
    if (c < 0) return std::nullopt;
    std::optional<std::string> literal = KeyLiteral(rows.columns[static_cast<size_t>(c)], r);
    if (!literal) return std::nullopt;
    out += (i > 0 ? ", " : "") + *literal;
  }
  return out;
}

spec::EntitySpec KeysOnly(const spec::EntitySpec& entity) {
  spec::EntitySpec keys_only = entity;
  keys_only.children.clear();
  keys_only.columns.clear();
  keys_only.tag.reset();
  for (const auto& k : entity.key) keys_only.columns.push_back(*entity.FindColumn(k));
  return keys_only;
}

Result<std::vector<size_t>> KeysWithoutRows(pg_store::PgConnection* conn,
                                            const pg_store::TableShape& shape,
                                            const std::vector<std::string>& tuples) {
  if (tuples.empty()) return std::vector<size_t>{};
  std::string match;
  std::string names = "i";
  std::vector<std::string> values;
  for (size_t i = 0; i < shape.key.size(); ++i) {
    const std::string column = pg_store::QuoteIdent(shape.key[i]);
    match += fmt::format("{}t.{} = v.{}", i > 0 ? " AND " : "", column, column);
    names += ", " + column;
  }
  for (size_t i = 0; i < tuples.size(); ++i) {
    values.push_back(fmt::format("({}, {})", i, tuples[i]));
  }
  ASSIGN_OR_RETURN(auto result, conn->Query(fmt::format(
                                    "SELECT v.i FROM (VALUES {}) AS v({}) WHERE NOT "
                                    "EXISTS (SELECT 1 FROM {} t WHERE {})",
                                    fmt::join(values, ", "), names, shape.QualifiedName(), match)));
  std::vector<size_t> missing;
  for (const auto& row : result.rows) missing.push_back(std::stoul(row[0].value_or("0")));
  return missing;
}

Status ScanLegacyKeys(const spec::MigrationSpec& migration, store::SnapshotReader& legacy,
                      const spec::EntitySpec& entity, const pg_store::TableShape& shape,
                      size_t batch_size,
                      const std::function<Status(const LegacyKeyBatch&)>& on_batch) {
  // The mapper keeps a reference to the spec it maps by.
  const spec::EntitySpec keys_only = KeysOnly(entity);
  ASSIGN_OR_RETURN(auto mapper, CreateMapper(migration, keys_only));
  ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions, legacy.Plan());
  store::StoreBatch in;
  map::MappedBatch mapped;
  for (const store::Partition& partition : partitions) {
    ASSIGN_OR_RETURN(auto batches, legacy.Open(partition, store::Cursor{}));
    for (;;) {
      ASSIGN_OR_RETURN(const bool more, batches->Next(batch_size, &in));
      if (!more) break;
      mapper->Map(in, &mapped);
      const RowBatch& rows = mapped.tables[0];
      LegacyKeyBatch out;
      out.scanned = in.size();
      for (size_t r = 0; r < rows.num_rows(); ++r) {
        const std::optional<std::string> tuple = KeyTupleLiteral(rows, shape, r);
        const uint32_t record = mapped.origins[0][r].record;
        if (!tuple) continue;
        out.tuples.push_back(*tuple);
        out.legacy_keys.push_back(record < in.source_keys.size() ? in.source_keys[record] : "");
      }
      RETURN_IF_ERROR(on_batch(out));
    }
  }
  return Status::Ok();
}

LegacyWriteBack::LegacyWriteBack(const spec::MigrationSpec& migration,
                                 const spec::EntitySpec& entity, std::string failpoint_prefix)
    : migration_(migration),
      entity_(entity),
      before_flush_(failpoint_prefix + ".before_legacy_flush"),
      after_flush_(failpoint_prefix + ".after_legacy_flush"),
      shape_(PlanTables(migration, entity)[0].shape) {}

Result<std::unique_ptr<LegacyWriteBack>> LegacyWriteBack::Open(const spec::MigrationSpec& migration,
                                                               const spec::EntitySpec& entity,
                                                               std::string failpoint_prefix) {
  std::unique_ptr<LegacyWriteBack> w(
      new LegacyWriteBack(migration, entity, std::move(failpoint_prefix)));
  ASSIGN_OR_RETURN(w->builder_, map::RecordBuilder::Create(entity));
  ASSIGN_OR_RETURN(w->store_, OpenEntityStore(migration, entity, 1));
  w->writer_ = w->store_->writer();
  if (w->writer_ == nullptr) {
    return FailedPrecondition(entity.name + ": its legacy store takes no writes");
  }
  return w;
}

Status LegacyWriteBack::Read(pg_store::PgConnection* conn, std::string_view where,
                             std::string_view tail, size_t limit, RowBatch* rows) const {
  *rows = RowBatch();
  bool first = true;
  return pg_store::ScanTable(
      conn, shape_, limit + 1,
      [&](const RowBatch& batch) -> Status {
        if (!first) return Internal("a page of rows came in more than one batch");
        first = false;
        *rows = batch;
        return Status::Ok();
      },
      where, tail);
}

Result<WriteBackCounts> LegacyWriteBack::WriteKeys(pg_store::PgConnection* conn,
                                                   const RowBatch& rows) {
  std::vector<std::string> tuples;
  std::vector<std::string> keys;
  std::vector<int64_t> locks;
  std::set<std::string> seen;
  for (size_t r = 0; r < rows.num_rows(); ++r) {
    std::optional<std::string> tuple = KeyTupleLiteral(rows, shape_, r);
    if (!tuple) {
      return DataError(
          fmt::format("{}: a row's key has no exact SQL form to read it again by", entity_.name));
    }
    ASSIGN_OR_RETURN(std::string key, builder_->Key(rows, r));
    if (!seen.insert(key).second) continue;  // a key changed twice in one page
    tuples.push_back("(" + *tuple + ")");
    locks.push_back(catalog::KeyLockId(migration_.name, entity_.name, key));
    keys.push_back(std::move(key));
  }
  WriteBackCounts counts;
  if (keys.empty()) return counts;
  pg_store::Transaction tx(conn);
  RETURN_IF_ERROR(tx.status());
  RETURN_IF_ERROR(catalog::LockKeysForTransaction(conn, locks));
  RowBatch fresh;
  RETURN_IF_ERROR(
      Read(conn, fmt::format("({}) IN (VALUES {})", KeyColumnList(shape_), fmt::join(tuples, ", ")),
           {}, keys.size(), &fresh));
  auto stage = [&]() -> Status {
    std::set<std::string> present;
    for (size_t r = 0; r < fresh.num_rows(); ++r) {
      ASSIGN_OR_RETURN(std::string key, builder_->Key(fresh, r));
      RETURN_IF_ERROR(Stage(fresh, r, key));
      present.insert(std::move(key));
      ++counts.written;
    }
    // A key with no row (deleted since the caller saw it): it goes too.
    for (const std::string& key : keys) {
      if (present.contains(key)) continue;
      RETURN_IF_ERROR(writer_->Delete({key}));
      ++counts.deleted;
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(Flush(stage()).WithContext("writing back the rows of " + entity_.name));
  RETURN_IF_ERROR(tx.Commit());
  return counts;
}

Result<WriteBackCounts> LegacyWriteBack::WriteRows(const RowBatch& rows,
                                                   const std::vector<size_t>& upserts,
                                                   const std::vector<size_t>& deletes) {
  WriteBackCounts counts;
  auto stage = [&]() -> Status {
    for (size_t r : upserts) {
      ASSIGN_OR_RETURN(std::string key, builder_->Key(rows, r));
      RETURN_IF_ERROR(Stage(rows, r, key));
      ++counts.written;
    }
    for (size_t r : deletes) {
      ASSIGN_OR_RETURN(std::string key, builder_->Key(rows, r));
      RETURN_IF_ERROR(writer_->Delete({key}));
      ++counts.deleted;
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(Flush(stage()).WithContext("writing the changes of " + entity_.name));
  return counts;
}

Status LegacyWriteBack::Stage(const RowBatch& rows, size_t r, const std::string& key) {
  ASSIGN_OR_RETURN(const std::string document, builder_->Build(rows, r));
  RowBatch doc;
  doc.AddColumn("$doc", ValueType::kJsonb);
  doc.columns[0].AppendBytes(document);
  return writer_->Upsert({key}, doc, 0);
}

Status LegacyWriteBack::Flush(Status staged) {
  FailPoint(before_flush_);
  if (staged.ok()) staged = writer_->Flush();
  if (!staged.ok()) {
    writer_->Discard();
    return staged;
  }
  FailPoint(after_flush_);
  return Status::Ok();
}

Result<std::vector<size_t>> LegacyWriteBack::Missing(pg_store::PgConnection* conn,
                                                     const std::vector<std::string>& tuples) const {
  return KeysWithoutRows(conn, shape_, tuples);
}

Result<int64_t> LegacyWriteBack::DeleteKeysWithoutRows(pg_store::PgConnection* conn,
                                                       const std::vector<std::string>& tuples,
                                                       const std::vector<std::string>& keys) {
  pg_store::Transaction tx(conn);
  RETURN_IF_ERROR(tx.status());
  std::vector<int64_t> locks;
  for (const std::string& key : keys) {
    locks.push_back(catalog::KeyLockId(migration_.name, entity_.name, key));
  }
  RETURN_IF_ERROR(catalog::LockKeysForTransaction(conn, locks));
  ASSIGN_OR_RETURN(const std::vector<size_t> still, Missing(conn, tuples));
  Status staged;
  for (size_t i : still) {
    if (staged.ok()) staged = writer_->Delete({keys[i]});
  }
  if (staged.ok()) staged = writer_->Flush();
  if (!staged.ok()) {
    writer_->Discard();
    return staged.WithContext("deleting legacy keys of " + entity_.name);
  }
  RETURN_IF_ERROR(tx.Commit());
  return static_cast<int64_t>(still.size());
}

}  // namespace cutover::engine
