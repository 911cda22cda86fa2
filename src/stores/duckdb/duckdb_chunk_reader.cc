// DuckChunkReader: prepared statement -> streaming result -> data chunks ->
// typed columns, with each row's ordinal in its file as its position.
#include "stores/duckdb/duckdb_chunk_reader.h"

#include <algorithm>
#include <limits>

#include "stores/duckdb/streaming_query.h"

namespace cutover::duckdb_store {

DuckChunkReader::DuckChunkReader(std::unique_ptr<DuckSession> session,
                                 std::shared_ptr<const std::vector<ColumnPlan>> columns,
                                 ChunkQuery query)
    : session_(std::move(session)), columns_(std::move(columns)), query_(std::move(query)) {}

DuckChunkReader::~DuckChunkReader() {
  Close();
}

void DuckChunkReader::Close() {
  if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
  chunk_ = nullptr;
  if (has_result_) duckdb_destroy_result(&result_);
  has_result_ = false;
  open_ = false;
}

Status DuckChunkReader::Open(int64_t from_row) {
  Close();
  const bool unbounded = query_.row_count < 0;
  const int64_t end =
      unbounded ? std::numeric_limits<int64_t>::max() : query_.first_row + query_.row_count;
  begin_ = std::clamp(from_row, query_.first_row, end);
  next_ordinal_ = begin_;
  rows_read_ = 0;
  chunk_size_ = chunk_offset_ = 0;
  done_ = begin_ >= end;
  open_ = true;
  if (done_) return Status::Ok();

  const std::string sql = query_.make_sql(begin_, end);
  const std::string what = unbounded ? "reading " + query_.file
                                     : "reading rows " + std::to_string(begin_) + ".." +
                                           std::to_string(end - 1) + " of " + query_.file;
  RETURN_IF_ERROR(StartStreamingQuery(session_.get(), sql, what, &result_));
  has_result_ = true;
  const idx_t expected = columns_->size() + (query_.ordinal_column ? 1 : 0);
  if (duckdb_column_count(&result_) != expected) {
    Close();
    return Internal(what + ": the query returned an unexpected number of columns");
  }
  return Status::Ok();
}

Status DuckChunkReader::FetchChunk() {
  if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
  chunk_ = duckdb_fetch_chunk(result_);
  chunk_offset_ = 0;
  chunk_size_ = chunk_ != nullptr ? duckdb_data_chunk_get_size(chunk_) : 0;
  if (chunk_ == nullptr) {
    const char* error = duckdb_result_error(&result_);
    if (error != nullptr) {
      return DataError("reading " + query_.file + " near row " + std::to_string(next_ordinal_) +
                       ": " + error);
    }
  }
  return Status::Ok();
}

Result<bool> DuckChunkReader::Next(size_t max_records, store::StoreBatch* out) {
  if (!open_) return FailedPrecondition("DuckChunkReader::Next before Open on " + query_.file);
  RowBatch& rows = out->rows;
  bool same_shape = rows.columns.size() == columns_->size();
  for (size_t c = 0; same_shape && c < columns_->size(); ++c) {
    same_shape = rows.names[c] == (*columns_)[c].name &&
                 rows.columns[c].type() == (*columns_)[c].type &&
                 rows.columns[c].wall_clock() == (*columns_)[c].wall_clock;
  }
  if (same_shape) {
    rows.Clear();
  } else {
    rows = RowBatch();
    for (const ColumnPlan& plan : *columns_) {
      rows.AddColumn(plan.name, plan.type);
      rows.columns.back().set_wall_clock(plan.wall_clock);
    }
  }
  out->positions.clear();
  out->origin = query_.file;

  const size_t first_column = query_.ordinal_column ? 1 : 0;
  while (!done_ && out->positions.size() < max_records) {
    if (chunk_offset_ >= chunk_size_) {
      RETURN_IF_ERROR(FetchChunk());
      if (chunk_ == nullptr) {
        done_ = true;
        break;
      }
      if (chunk_size_ == 0) continue;
    }
    const idx_t take =
        std::min<idx_t>(chunk_size_ - chunk_offset_, max_records - out->positions.size());
    const idx_t begin = chunk_offset_;
    const idx_t end = begin + take;
    for (size_t c = 0; c < columns_->size(); ++c) {
      AppendVector((*columns_)[c], duckdb_data_chunk_get_vector(chunk_, c + first_column), begin,
                   end, &rows.columns[c]);
    }
    const int64_t* ordinals =
        query_.ordinal_column ? static_cast<const int64_t*>(
                                    duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk_, 0)))
                              : nullptr;
    for (idx_t i = begin; i < end; ++i) {
      const int64_t ordinal = ordinals != nullptr ? ordinals[i] : next_ordinal_;
      next_ordinal_ = ordinal + 1;
      store::RecordPosition pos;
      pos.byte_offset = -1;
      pos.line = query_.line_of_row0 >= 0 ? query_.line_of_row0 + ordinal : -1;
      pos.record_index = ordinal;
      out->positions.push_back(pos);
    }
    chunk_offset_ = end;
    rows_read_ += static_cast<int64_t>(take);
  }

  if (done_ && query_.row_count >= 0) {
    // Skipped rows are counted over the whole range; chunk readers always
    // start at its first row.
    const int64_t expected = query_.first_row + query_.row_count - begin_ -
                             (begin_ == query_.first_row ? query_.skipped_rows : 0);
    if (rows_read_ != expected) {
      return DataError("chunk " + query_.file + " rows " + std::to_string(begin_) + ".." +
                       std::to_string(query_.first_row + query_.row_count - 1) + ": read " +
                       std::to_string(rows_read_) + " rows, expected " + std::to_string(expected) +
                       "; did the file change since its chunks were planned?");
    }
  }
  return !out->positions.empty();
}

}  // namespace cutover::duckdb_store
