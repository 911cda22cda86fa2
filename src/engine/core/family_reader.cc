// FamilyReader: one query for the parents, one per child by the parents'
// keys, and the child rows cut into each parent's slice.
#include "engine/core/family_reader.h"

#include <fmt/format.h>

#include <unordered_map>

#include "common/value_text.h"
#include "engine/core/entity_plan.h"
#include "engine/core/legacy_write_back.h"
#include "stores/postgres/table_reader.h"

namespace cutover::engine {
namespace {

// Rows of `shape`'s table matching `where`, ordered by `tail`, all in one
// batch (a page is bounded by its caller's LIMIT or parent keys).
Status ReadAll(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
               const std::string& where, const std::string& tail, RowBatch* out) {
  *out = RowBatch();
  bool first = true;
  return pg_store::ScanTable(
      conn, shape, 65536,
      [&](const RowBatch& batch) -> Status {
        if (first) {
          *out = batch;
          first = false;
          return Status::Ok();
        }
        for (size_t r = 0; r < batch.num_rows(); ++r) {
          for (size_t c = 0; c < out->columns.size(); ++c) {
            out->columns[c].AppendFrom(batch.columns[c], r);
          }
        }
        return Status::Ok();
      },
      where, tail);
}

// The text of `columns` of row `r`, joined: what matches a child's parent
// columns to its parent's key, whatever their SQL types.
std::string TupleText(const RowBatch& rows, const std::vector<std::string>& columns, size_t r) {
  std::string out;
  for (const std::string& name : columns) {
    const int at = rows.IndexOf(name);
    out += at < 0 ? std::string("?") : ValueText(rows.columns[static_cast<size_t>(at)], r);
    out.push_back('\x1f');
  }
  return out;
}

}  // namespace

Result<FamilyReader> FamilyReader::Create(const spec::MigrationSpec& migration,
                                          const spec::EntitySpec& entity) {
  FamilyReader reader;
  reader.entity_name_ = entity.name;
  const std::vector<PlannedTable> tables = PlanTables(migration, entity);
  reader.shape_ = tables[0].shape;
  for (const spec::EntitySpec& child : entity.children) {
    ChildTable table;
    for (const PlannedTable& t : tables) {
      if (t.entity == &child) table.shape = t.shape;
    }
    for (const std::string& key : reader.shape_.key) {
      std::string linked;
      for (const auto& [child_column, parent_column] : child.parent_columns) {
        if (parent_column == key) linked = child_column;
      }
      if (linked.empty()) {
        return FailedPrecondition(fmt::format(
            "{}: child '{}' does not hold its parent's key column '{}', so its rows cannot be "
            "put back under their parent",
            entity.name, child.name, key));
      }
      table.link.push_back(linked);
    }
    reader.children_.push_back(std::move(table));
  }
  return reader;
}

Status FamilyReader::Read(pg_store::PgConnection* conn, const std::string& where,
                          const std::string& tail, FamilyPage* out) const {
  RETURN_IF_ERROR(ReadAll(conn, shape_, where, tail, &out->rows));
  const size_t n = out->rows.num_rows();
  out->key_tuples.clear();
  out->children.assign(n, {});
  out->child_rows.resize(children_.size());
  std::unordered_map<std::string, size_t> parent_of;
  for (size_t r = 0; r < n; ++r) {
    std::optional<std::string> tuple = KeyTupleLiteral(out->rows, shape_, r);
    if (!tuple) {
      return DataError(
          fmt::format("{}: a row's key has no exact SQL form to look it up by", entity_name_));
    }
    out->key_tuples.push_back("(" + *tuple + ")");
    parent_of.emplace(TupleText(out->rows, shape_.key, r), r);
  }
  for (size_t c = 0; c < children_.size(); ++c) {
    RowBatch& rows = out->child_rows[c];
    for (size_t r = 0; r < n; ++r) out->children[r].push_back({&rows, 0, 0});
    if (n == 0) {
      rows = RowBatch();
      continue;
    }
    const ChildTable& child = children_[c];
    std::string link;
    for (const std::string& column : child.link) {
      link += (link.empty() ? "" : ", ") + pg_store::QuoteIdent(column);
    }
    RETURN_IF_ERROR(
        ReadAll(conn, child.shape,
                fmt::format("({}) IN (VALUES {})", link, fmt::join(out->key_tuples, ", ")),
                fmt::format("ORDER BY {}, {}", link, KeyColumnList(child.shape)), &rows));
    for (size_t r = 0; r < rows.num_rows();) {
      const std::string parent_key = TupleText(rows, child.link, r);
      size_t end = r + 1;
      while (end < rows.num_rows() && TupleText(rows, child.link, end) == parent_key) ++end;
      auto parent = parent_of.find(parent_key);
      if (parent != parent_of.end()) out->children[parent->second][c] = {&rows, r, end};
      r = end;
    }
  }
  return Status::Ok();
}

}  // namespace cutover::engine
