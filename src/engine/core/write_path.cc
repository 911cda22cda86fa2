// MergeWithBisect and TableIsEmpty: how the backfill writes a batch and
// probes for the direct COPY (see the design note in the header).
#include "engine/core/write_path.h"

#include <fmt/format.h>

#include <unordered_set>

#include "common/value_text.h"

#include "stores/postgres/retry.h"

namespace cutover::engine {

namespace {

Reject RejectOf(const TableWrite& target, uint32_t row, std::string reason) {
  const map::RowOrigin& origin = target.mapped->origins[target.table][row];
  const store::RecordPosition& pos = target.in->positions[origin.record];
  Reject r;
  r.entity = std::string(target.entity);
  r.source = target.in->origin;
  r.byte_offset = pos.byte_offset;
  r.line = pos.line;
  r.record_index = pos.record_index;
  r.item = origin.item;
  r.reason = std::move(reason);
  r.record = target.mapper->RecordText(*target.in, origin.record);
  return r;
}

Status Bisect(pg_store::PgConnection* conn, const TableWrite& target, std::vector<uint32_t> rows,
              int64_t* accepted, std::vector<Reject>* refused, int64_t* changed) {
  if (rows.empty()) return Status::Ok();
  const RowBatch& batch = target.mapped->tables[target.table];
  RETURN_IF_ERROR(conn->Exec("SAVEPOINT cutover_merge"));
  Result<int64_t> merged = int64_t{0};
  if (target.mode == WriteMode::kAppend) {
    Status appended = target.writer->Append(conn, batch, rows);
    if (!appended.ok()) merged = appended;
  } else {
    // The whole batch may take the direct COPY; the halves of a split merge.
    const bool whole = rows.size() == batch.num_rows();
    merged =
        whole ? target.writer->Write(conn, batch, rows) : target.writer->Merge(conn, batch, rows);
  }
  if (merged.ok()) {
    *accepted += static_cast<int64_t>(rows.size());
    if (changed != nullptr) {
      *changed += target.mode == WriteMode::kAppend ? static_cast<int64_t>(rows.size()) : *merged;
    }
    return conn->Exec("RELEASE SAVEPOINT cutover_merge");
  }
  if (merged.status().code() != StatusCode::kDataError) return merged.status();
  RETURN_IF_ERROR(conn->Exec("ROLLBACK TO SAVEPOINT cutover_merge"));
  RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT cutover_merge"));
  if (rows.size() == 1) {
    if (target.table == 0 && target.refused_parents != nullptr) {
      (*target.refused_parents)[target.mapped->origins[0][rows[0]].record] = true;
    }
    refused->push_back(
        RejectOf(target, rows[0], "PostgreSQL refused the row: " + merged.status().message()));
    return Status::Ok();
  }
  const size_t half = rows.size() / 2;
  std::vector<uint32_t> second(rows.begin() + half, rows.end());
  rows.resize(half);
  RETURN_IF_ERROR(Bisect(conn, target, std::move(rows), accepted, refused, changed));
  return Bisect(conn, target, std::move(second), accepted, refused, changed);
}

// See "Repeated child keys" in the header.
void RefuseRepeatedKeys(const TableWrite& target, std::vector<uint32_t>* rows,
                        std::vector<Reject>* refused) {
  const RowBatch& batch = target.mapped->tables[target.table];
  std::vector<int> columns;
  for (const std::string& name : *target.refuse_repeated_key) {
    const int i = batch.IndexOf(name);
    if (i >= 0) columns.push_back(i);
  }
  if (columns.empty()) return;
  std::unordered_set<std::string> seen;
  seen.reserve(rows->size());
  std::string key;
  std::erase_if(*rows, [&](uint32_t row) {
    key.clear();
    for (const int i : columns) {
      const Column& column = batch.columns[i];
      if (column.IsNull(row)) {
        key.push_back('\0');
      } else if (IsFixedWidth(column.type())) {
        const int64_t v = column.IntAt(row);
        key.push_back('\1');
        key.append(reinterpret_cast<const char*>(&v), sizeof v);
      } else {
        const std::string_view bytes = column.BytesAt(row);
        const uint64_t size = bytes.size();
        key.push_back('\2');
        key.append(reinterpret_cast<const char*>(&size), sizeof size);
        key.append(bytes);
      }
    }
    if (seen.insert(key).second) return false;
    std::string shown;
    for (const int i : columns) {
      shown += fmt::format("{}{}={}", shown.empty() ? "" : ", ", batch.names[i],
                           ValueText(batch.columns[i], row));
    }
    refused->push_back(RejectOf(
        target, row,
        fmt::format("repeats the key ({}) of an earlier row of its record: {} holds one row per "
                    "key, and the first is kept",
                    shown, target.entity)));
    return true;
  });
}

}  // namespace

Status MergeWithBisect(pg_store::PgConnection* conn, const TableWrite& target,
                       std::vector<uint32_t> rows, int64_t* accepted, std::vector<Reject>* refused,
                       int64_t* changed) {
  if (target.table > 0 && target.refused_parents != nullptr) {
    // See "Orphans" in the header.
    const std::vector<bool>& parent_refused = *target.refused_parents;
    std::erase_if(rows, [&](uint32_t row) {
      if (!parent_refused[target.mapped->origins[target.table][row].record]) return false;
      refused->push_back(RejectOf(target, row,
                                  "not written: PostgreSQL refused its record's parent row, "
                                  "which this row's foreign key needs"));
      return true;
    });
  }
  if (target.refuse_repeated_key != nullptr) RefuseRepeatedKeys(target, &rows, refused);
  return Bisect(conn, target, std::move(rows), accepted, refused, changed);
}

Result<bool> TableIsEmpty(pg_store::PgConnection* conn, const pg_store::TableShape& shape) {
  ASSIGN_OR_RETURN(
      auto any, conn->QueryValue(fmt::format("SELECT 1 FROM {} LIMIT 1", shape.QualifiedName())));
  return !any.has_value();
}

}  // namespace cutover::engine
