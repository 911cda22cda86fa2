// ParquetSource: row groups from parquet_metadata(), chunk queries filtered
// on file_row_number, which also gives each row its exact ordinal.
#include "stores/duckdb/parquet_source.h"

#include <charconv>

namespace cutover::duckdb_store {
namespace {

std::string FileList(const std::vector<std::string>& files) {
  std::string list = "[";
  for (size_t i = 0; i < files.size(); ++i) list += (i ? ", " : "") + SqlLiteral(files[i]);
  return list + "]";
}

Result<int64_t> ToInt(const std::optional<std::string>& text, const std::string& what) {
  int64_t v = 0;
  if (!text || std::from_chars(text->data(), text->data() + text->size(), v).ec != std::errc()) {
    return Internal(what + ": unexpected value in parquet_metadata()");
  }
  return v;
}

}  // namespace

std::string ParquetSource::Relation(const std::vector<std::string>& files) const {
  if (files.size() == 1) return "read_parquet(" + SqlLiteral(files[0]) + ")";
  return "read_parquet(" + FileList(files) + ", union_by_name = true)";
}

std::string ParquetSource::DedupRelation() const {
  // Files are in sorted order (see file_set.h), so filename order is source
  // order.
  return "read_parquet(" + FileList(files_) +
         ", filename = true, file_row_number = true, union_by_name = true)";
}

Result<std::vector<ChunkRef>> ParquetSource::PlanFile(DuckSession* session, const std::string& file,
                                                      const std::vector<ColumnPlan>& columns) {
  (void)columns;
  const std::string what = what_ + ": reading the row groups of " + file;
  ASSIGN_OR_RETURN(const TextRows rows,
                   session->QueryText("SELECT row_group_id, any_value(row_group_num_rows) "
                                      "FROM parquet_metadata(" +
                                          SqlLiteral(file) + ") GROUP BY ALL ORDER BY 1",
                                      what));
  std::vector<ChunkRef> chunks;
  int64_t first = 0;
  ChunkRef open{file, 0, 0};  // the chunk being filled
  for (const auto& row : rows) {
    if (row.size() != 2) return Internal(what + ": unexpected result shape");
    ASSIGN_OR_RETURN(const int64_t count, ToInt(row[1], what));
    if (count == 0) continue;
    open.row_count += count;
    first += count;
    if (open.row_count >= chunk_rows_) {
      chunks.push_back(open);
      open = ChunkRef{file, first, 0};
    }
  }
  if (open.row_count > 0) chunks.push_back(open);
  return chunks;
}

ChunkQuery ParquetSource::MakeQuery(const ChunkRef& chunk, const std::string& select_list,
                                    const std::vector<ColumnPlan>& file_columns) const {
  (void)file_columns;
  ChunkQuery q;
  q.file = chunk.file;
  q.first_row = chunk.first_row;
  q.row_count = chunk.row_count;
  q.ordinal_column = true;
  const std::string from = "read_parquet(" + SqlLiteral(chunk.file) + ", file_row_number = true)";
  q.make_sql =
      [select_list, from,
       skip = SupersededFilter(chunk.file, chunk.first_row, chunk.first_row + chunk.row_count)](
          int64_t begin, int64_t end) {
        return "SELECT file_row_number, " + select_list + " FROM " + from +
               " WHERE file_row_number >= " + std::to_string(begin) + " AND file_row_number < " +
               std::to_string(end) + skip;
      };
  return q;
}

}  // namespace cutover::duckdb_store
