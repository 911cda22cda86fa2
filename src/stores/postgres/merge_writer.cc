#include "stores/postgres/merge_writer.h"

#include <algorithm>
#include <atomic>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "stores/postgres/copy_encoder.h"
#include "stores/postgres/time_partitions.h"

namespace cutover::pg_store {
namespace {

constexpr int kMaxDirectFailures = 3;

std::string JoinQuoted(const std::vector<std::string>& names, std::string_view prefix = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += prefix;
    out += QuoteIdent(names[i]);
  }
  return out;
}

}  // namespace

MergeWriter::MergeWriter(TableShape shape) : shape_(std::move(shape)) {
  static std::atomic<int> next_id{0};
  staging_name_ = fmt::format("cutover_stage_{}", next_id.fetch_add(1));

  std::vector<std::string> names, non_key, select_exprs;
  for (size_t i = 0; i < shape_.columns.size(); ++i) {
    const auto& c = shape_.columns[i];
    names.push_back(c.name);
    column_order_.push_back(static_cast<int>(i));
    select_exprs.push_back(QuoteIdent(c.name));
    if (std::find(shape_.key.begin(), shape_.key.end(), c.name) == shape_.key.end()) {
      non_key.push_back(c.name);
    }
  }
  copy_sql_ = fmt::format("COPY pg_temp.{} FROM STDIN (FORMAT binary)", QuoteIdent(staging_name_));
  direct_copy_sql_ = fmt::format("COPY {} ({}) FROM STDIN (FORMAT binary)", shape_.QualifiedName(),
                                 JoinQuoted(names));

  std::string select_list;
  for (size_t i = 0; i < select_exprs.size(); ++i) {
    if (i) select_list += ", ";
    select_list += select_exprs[i];
  }
  std::string key_list = JoinQuoted(shape_.key);
  std::string conflict;
  if (non_key.empty()) {
    conflict = "DO NOTHING";
  } else {
    std::string sets;
    for (size_t i = 0; i < non_key.size(); ++i) {
      if (i) sets += ", ";
      sets += fmt::format("{0} = EXCLUDED.{0}", QuoteIdent(non_key[i]));
    }
    const std::string changed = fmt::format("({}) IS DISTINCT FROM ({})", JoinQuoted(non_key, "t."),
                                            JoinQuoted(non_key, "EXCLUDED."));
    if (shape_.keep_last_by.empty()) {
      conflict = fmt::format("DO UPDATE SET {} WHERE {}", sets, changed);
    } else {
      // See "Dedup" in the header: only a greater keep_last_by replaces.
      const std::string incoming = KeepLastByRow("EXCLUDED.");
      const std::string existing = KeepLastByRow("t.");
      conflict = fmt::format("DO UPDATE SET {} WHERE {} > {} OR ({} = {} AND {})", sets, incoming,
                             existing, incoming, existing, changed);
    }
  }
  std::string order = key_list;
  for (const auto& k : shape_.keep_last_by) {
    order += fmt::format(", {}{} DESC", QuoteIdent(k), CollateOf(k));
  }
  merge_sql_ = fmt::format(
      "INSERT INTO {} AS t ({}) SELECT DISTINCT ON ({}) {} FROM pg_temp.{} ORDER BY {}, "
      "cutover_ord DESC ON CONFLICT ({}) {}",
      shape_.QualifiedName(), JoinQuoted(names), key_list, select_list, QuoteIdent(staging_name_),
      order, key_list, conflict);
  merge_unique_sql_ =
      fmt::format("INSERT INTO {} AS t ({}) SELECT {} FROM pg_temp.{} ON CONFLICT ({}) {}",
                  shape_.QualifiedName(), JoinQuoted(names), select_list, QuoteIdent(staging_name_),
                  key_list, conflict);
}

std::string MergeWriter::CollateOf(const std::string& column) const {
  const int i = shape_.IndexOf(column);
  return i >= 0 && shape_.columns[i].type == ValueType::kText ? " COLLATE \"C\"" : "";
}

std::string MergeWriter::KeepLastByRow(std::string_view prefix) const {
  std::string out = "ROW(";
  for (size_t i = 0; i < shape_.keep_last_by.size(); ++i) {
    if (i) out += ", ";
    out += fmt::format("{}{}{}", prefix, QuoteIdent(shape_.keep_last_by[i]),
                       CollateOf(shape_.keep_last_by[i]));
  }
  return out + ")";
}

Status MergeWriter::PrepareStaging(PgConnection* conn) {
  std::string cols = "cutover_ord bigint";
  for (const auto& c : shape_.columns) {
    cols += fmt::format(", {} {}", QuoteIdent(c.name), PostgresTypeName(c.type));
  }
  return conn
      ->Exec(fmt::format("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT {} ROWS",
                         QuoteIdent(staging_name_), cols,
                         small_transactions_ ? "PRESERVE" : "DELETE"))
      .WithContext("creating staging table for " + shape_.QualifiedName());
}

Status MergeWriter::Compact(PgConnection* conn) {
  return conn->Exec(fmt::format("TRUNCATE pg_temp.{}", QuoteIdent(staging_name_)));
}

Result<int64_t> MergeWriter::Write(PgConnection* conn, const RowBatch& batch,
                                   std::span<const uint32_t> rows) {
  if (!direct_copy_ || rows.empty()) return Merge(conn, batch, rows);
  RETURN_IF_ERROR(EnsureTimePartitions(conn, shape_, batch, rows));
  RETURN_IF_ERROR(conn->Exec("SAVEPOINT cutover_direct"));
  buffer_.clear();
  EncodeBinaryCopy(batch, column_order_, rows, /*with_ordinal=*/false, &buffer_);
  Status st = conn->CopyIn(direct_copy_sql_, buffer_);
  FailPoint("merge.after_copy");
  if (st.ok()) {
    RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT cutover_direct"));
    return static_cast<int64_t>(rows.size());
  }
  if (st.code() == StatusCode::kUnavailable) return st;
  RETURN_IF_ERROR(conn->Exec("ROLLBACK TO SAVEPOINT cutover_direct"));
  RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT cutover_direct"));
  // Existing keys are expected (a rerun); anything else the merge will meet
  // again and isolate row by row.
  if (++direct_failures_ >= kMaxDirectFailures) direct_copy_ = false;
  return Merge(conn, batch, rows);
}

Status MergeWriter::Append(PgConnection* conn, const RowBatch& batch,
                           std::span<const uint32_t> rows) {
  if (rows.empty()) return Status::Ok();
  RETURN_IF_ERROR(EnsureTimePartitions(conn, shape_, batch, rows));
  buffer_.clear();
  EncodeBinaryCopy(batch, column_order_, rows, /*with_ordinal=*/false, &buffer_);
  RETURN_IF_ERROR(
      conn->CopyIn(direct_copy_sql_, buffer_).WithContext("COPY into " + shape_.QualifiedName()));
  FailPoint("merge.after_copy");
  return Status::Ok();
}

Result<int64_t> MergeWriter::Merge(PgConnection* conn, const RowBatch& batch,
                                   std::span<const uint32_t> rows) {
  if (rows.empty()) return int64_t{0};
  RETURN_IF_ERROR(EnsureTimePartitions(conn, shape_, batch, rows));
  // A retry inside the same transaction (after a savepoint rollback) must not
  // see rows staged by the failed attempt.
  RETURN_IF_ERROR(conn->Exec((small_transactions_ ? "DELETE FROM pg_temp." : "TRUNCATE pg_temp.") +
                             QuoteIdent(staging_name_)));
  buffer_.clear();
  EncodeBinaryCopy(batch, column_order_, rows, /*with_ordinal=*/true, &buffer_);
  RETURN_IF_ERROR(conn->CopyIn(copy_sql_, buffer_)
                      .WithContext("COPY into staging for " + shape_.QualifiedName()));
  FailPoint("merge.after_copy");
  if (keys_unique_) {
    RETURN_IF_ERROR(conn->Exec("SAVEPOINT cutover_unique"));
    auto merged = conn->ExecCount(merge_unique_sql_);
    // 21000: the batch holds a key twice after all (see set_keys_unique).
    if (merged.ok() || merged.status().sqlstate() != "21000") {
      if (!merged.ok())
        return merged.status().WithContext("merging into " + shape_.QualifiedName());
      RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT cutover_unique"));
      FailPoint("merge.after_insert");
      return merged;
    }
    RETURN_IF_ERROR(conn->Exec("ROLLBACK TO SAVEPOINT cutover_unique"));
    RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT cutover_unique"));
    keys_unique_ = false;
  }
  auto merged = conn->ExecCount(merge_sql_);
  if (!merged.ok()) return merged.status().WithContext("merging into " + shape_.QualifiedName());
  FailPoint("merge.after_insert");
  return merged;
}

}  // namespace cutover::pg_store
