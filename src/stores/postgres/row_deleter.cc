// Set-based DELETE of the rows matching a batch's key (or link) columns.
#include "stores/postgres/row_deleter.h"

#include <fmt/format.h>

#include <functional>

#include "stores/postgres/copy_encoder.h"

namespace cutover::pg_store {

RowDeleter::RowDeleter(TableShape shape, std::vector<std::string> match_columns)
    : shape_(std::move(shape)), match_(std::move(match_columns)) {
  // One staging table per (table, match columns): the same table matched by
  // its key and by its parent link needs two.
  staging_ = "cutover_delete_" + shape_.schema + "_" + shape_.table;
  for (const auto& m : match_) staging_ += "_" + m;
  if (staging_.size() > 63)
    staging_ =
        staging_.substr(0, 50) + std::to_string(std::hash<std::string>{}(staging_) % 1000000000);
}

Status RowDeleter::PrepareStaging(PgConnection* conn) {
  analyzed_rows_ = -1;
  std::string cols;
  for (const auto& name : match_) {
    const int i = shape_.IndexOf(name);
    if (i < 0) return Internal("RowDeleter: " + name + " is not a column of " + shape_.table);
    cols += fmt::format("{}{} {}", cols.empty() ? "" : ", ", QuoteIdent(name),
                        PostgresTypeName(shape_.columns[i].type));
  }
  return conn
      ->Exec(fmt::format("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT PRESERVE ROWS",
                         QuoteIdent(staging_), cols))
      .WithContext("creating the delete staging table for " + shape_.QualifiedName());
}

Status RowDeleter::Compact(PgConnection* conn) {
  analyzed_rows_ = -1;
  return conn->Exec(fmt::format("TRUNCATE pg_temp.{}", QuoteIdent(staging_)));
}

Result<int64_t> RowDeleter::Delete(PgConnection* conn, const RowBatch& batch,
                                   std::span<const uint32_t> rows) {
  if (rows.empty()) return 0;
  std::vector<int> order;
  std::string match;
  for (const auto& name : match_) {
    const int i = batch.IndexOf(name);
    if (i < 0) return Internal("RowDeleter: the batch lacks column " + name);
    order.push_back(i);
    match += fmt::format("{}t.{} = s.{}", match.empty() ? "" : " AND ", QuoteIdent(name),
                         QuoteIdent(name));
  }
  buffer_.clear();
  EncodeBinaryCopy(batch, order, rows, /*with_ordinal=*/false, &buffer_);
  RETURN_IF_ERROR(conn->Exec(fmt::format("DELETE FROM pg_temp.{}", QuoteIdent(staging_))));
  RETURN_IF_ERROR(conn->CopyIn(
      fmt::format("COPY {} FROM STDIN (FORMAT binary)", QuoteIdent(staging_)), buffer_));
  const auto staged = static_cast<int64_t>(rows.size());
  if (analyzed_rows_ < 0 || staged > 4 * analyzed_rows_ || 4 * staged < analyzed_rows_) {
    RETURN_IF_ERROR(conn->Exec(fmt::format("ANALYZE pg_temp.{}", QuoteIdent(staging_))));
    analyzed_rows_ = staged;
  }
  return conn->ExecCount(fmt::format("DELETE FROM {} t USING {} s WHERE {}", shape_.QualifiedName(),
                                     QuoteIdent(staging_), match));
}

}  // namespace cutover::pg_store
