// DuckFileSource: lazily learned columns (cached), chunk readers on forked
// connections, and the profile computed by DuckDB in one scan.
#include "stores/duckdb/duckdb_file_source.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include <filesystem>

#include "stores/duckdb/relation_schema.h"
#include "stores/duckdb/repeated_hashes.h"
#include "stores/duckdb/source_profiler.h"

namespace cutover::duckdb_store {

DuckFileSource::DuckFileSource(std::unique_ptr<DuckSession> session, std::vector<std::string> files,
                               std::string what)
    : files_(std::move(files)), what_(std::move(what)), session_(std::move(session)) {}

Result<std::vector<ColumnPlan>> DuckFileSource::FileColumns(DuckSession* session,
                                                            const std::string& file) const {
  return DescribeRelation(session, Relation({file}), what_ + ": reading the columns of " + file);
}

Result<std::shared_ptr<const std::vector<ColumnPlan>>> DuckFileSource::ColumnsLocked() {
  if (columns_ == nullptr) {
    ASSIGN_OR_RETURN(
        std::vector<ColumnPlan> plans,
        DescribeRelation(session_.get(), Relation(files_), what_ + ": reading the columns"));
    if (plans.empty()) return DataError(what_ + ": the files have no columns");
    columns_ = std::make_shared<const std::vector<ColumnPlan>>(std::move(plans));
  }
  return columns_;
}

Result<const std::vector<ColumnPlan>*> DuckFileSource::FileColumnsLocked(const std::string& file) {
  auto it = file_columns_.find(file);
  if (it == file_columns_.end()) {
    ASSIGN_OR_RETURN(std::vector<ColumnPlan> plans, FileColumns(session_.get(), file));
    it = file_columns_.emplace(file, std::move(plans)).first;
  }
  return &it->second;
}

void DuckFileSource::ReadOnly(const std::vector<std::string>& columns) {
  std::lock_guard<std::mutex> lock(mu_);
  read_only_ = columns;
}

Result<std::vector<std::pair<std::string, std::vector<std::string>>>>
DuckFileSource::MissingColumns(const std::vector<std::string>& columns) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const std::string& file : files_) {
    ASSIGN_OR_RETURN(const std::vector<ColumnPlan>* has, FileColumnsLocked(file));
    std::vector<std::string> lacks;
    for (const std::string& c : columns) {
      const bool found =
          std::any_of(has->begin(), has->end(), [&](const ColumnPlan& p) { return p.name == c; });
      if (!found && std::find(lacks.begin(), lacks.end(), c) == lacks.end()) lacks.push_back(c);
    }
    if (!lacks.empty()) out.emplace_back(file, std::move(lacks));
  }
  return out;
}

Result<std::vector<ChunkRef>> DuckFileSource::PlanChunks() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ChunkRef> chunks;
  for (const std::string& file : files_) {
    ASSIGN_OR_RETURN(const std::vector<ChunkRef>* planned, FileChunksLocked(file));
    chunks.insert(chunks.end(), planned->begin(), planned->end());
  }
  return chunks;
}

Result<const std::vector<ChunkRef>*> DuckFileSource::FileChunksLocked(const std::string& file) {
  auto it = file_chunks_.find(file);
  if (it == file_chunks_.end()) {
    ASSIGN_OR_RETURN(const std::vector<ColumnPlan>* columns, FileColumnsLocked(file));
    ASSIGN_OR_RETURN(std::vector<ChunkRef> planned, PlanFile(session_.get(), file, *columns));
    it = file_chunks_.emplace(file, std::move(planned)).first;
  }
  return &it->second;
}

Result<std::unique_ptr<DuckChunkReader>> DuckFileSource::OpenChunk(const ChunkRef& chunk) {
  std::shared_ptr<const std::vector<ColumnPlan>> columns;
  std::string select_list;
  std::unique_ptr<DuckSession> session;
  ChunkQuery query;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool known = false;
    for (const std::string& f : files_) known = known || f == chunk.file;
    if (!known) return InvalidArgument(what_ + ": chunk " + chunk.Id() + " names another file");
    ASSIGN_OR_RETURN(columns, ColumnsLocked());
    if (!read_only_.empty()) {
      auto read = std::make_shared<std::vector<ColumnPlan>>();
      for (const ColumnPlan& c : *columns) {
        if (std::find(read_only_.begin(), read_only_.end(), c.name) != read_only_.end()) {
          read->push_back(c);
        }
      }
      columns = std::move(read);
    }
    ASSIGN_OR_RETURN(const std::vector<ColumnPlan>* file_columns, FileColumnsLocked(chunk.file));
    // Line numbers and row counts come from planning; plan this file now.
    RETURN_IF_ERROR(FileChunksLocked(chunk.file).status());
    select_list = SelectListFor(*columns, *file_columns);
    if (!hashed_keys_.empty()) {
      auto with_hash = std::make_shared<std::vector<ColumnPlan>>(*columns);
      ColumnPlan hash;
      hash.name = kKeyHashColumn;
      hash.type = ValueType::kInt64;
      hash.kind = NativeKind::kInt64;
      hash.native_type = "BIGINT";
      with_hash->push_back(std::move(hash));
      columns = std::move(with_hash);
      select_list += ", CAST(" + KeyHashOver(*file_columns) + " AS BIGINT) AS " +
                     SqlIdentifier(kKeyHashColumn);
    }
    query = MakeQuery(chunk, select_list, *file_columns);
    ASSIGN_OR_RETURN(query.skipped_rows, SupersededRowsLocked(chunk));
    ASSIGN_OR_RETURN(session, session_->Fork());
  }
  auto reader = std::make_unique<DuckChunkReader>(std::move(session), columns, std::move(query));
  return std::unique_ptr<DuckChunkReader>(std::move(reader));
}

namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// True for the rows that can take part in a ranking: a row with a NULL key
// or keep_last_by value has no key to be superseded on, nor an order to lose
// by, so it goes to the mapper, which rejects it with its reason. (All NULL
// keys fall in one window partition; ranking them would count all but one as
// superseded, stored nowhere and reported nowhere.)
std::string RankableCondition(const std::vector<std::string>& key_source_columns,
                              const std::vector<std::string>& order_source_columns) {
  std::string out;
  for (const auto* names : {&key_source_columns, &order_source_columns}) {
    for (const auto& n : *names) {
      out += (out.empty() ? "" : " AND ") + SqlIdentifier(n) + " IS NOT NULL";
    }
  }
  return out.empty() ? "true" : out;
}

}  // namespace

Result<std::string> DuckFileSource::RankedRelation(
    DuckSession* session, const std::vector<ColumnPlan>& columns,
    const std::vector<std::string>& key_source_columns,
    const std::vector<std::string>& order_source_columns, const std::string& what,
    const std::string& where) const {
  const std::string relation = DedupRelation();
  if (relation.empty()) return FailedPrecondition(what + ": this format cannot deduplicate itself");
  if (key_source_columns.empty()) return InvalidArgument(what + ": no key columns");
  auto known = [&](const std::string& name) {
    for (const ColumnPlan& c : columns) {
      if (c.name == name) return true;
    }
    return false;
  };
  std::string partition;
  for (const auto& k : key_source_columns) {
    if (!known(k)) return InvalidArgument(what + ": the source has no column '" + k + "'");
    partition += (partition.empty() ? "" : ", ") + SqlIdentifier(k);
  }
  std::string order;
  for (const auto& o : order_source_columns) {
    if (!known(o)) return InvalidArgument(what + ": the source has no column '" + o + "'");
    order += SqlIdentifier(o) + " DESC NULLS LAST, ";
  }
  order += "filename DESC, file_row_number DESC";
  // The window sorts what it ranks: let DuckDB spill to a directory of ours
  // rather than beside the user's data (an in-memory database's default),
  // past a memory limit that keeps a backfill's memory flat.
  const std::string spill =
      (std::filesystem::temp_directory_path() / ("cutover-duckdb-" + std::to_string(::getpid())))
          .string();
  RETURN_IF_ERROR(
      session->Execute("SET temp_directory = " + SqlLiteral(spill) + "; SET memory_limit = '256MB'",
                       what + ": configuring DuckDB"));
  std::string filter;
  if (!where.empty()) filter = " WHERE " + where;
  return "(SELECT *, row_number() OVER (PARTITION BY " + partition + " ORDER BY " + order +
         ") AS cutover_rank FROM " + relation + filter + ")";
}

Result<std::vector<int64_t>> DuckFileSource::HashKeys(
    const std::vector<std::string>& key_source_columns) {
  const std::string what = what_ + ": hashing the keys (" + JoinNames(key_source_columns) + ")";
  if (key_source_columns.empty()) return InvalidArgument(what + ": no key columns");
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto columns, ColumnsLocked());
  std::vector<ColumnPlan> keys;
  for (const auto& k : key_source_columns) {
    auto plan = std::find_if(columns->begin(), columns->end(),
                             [&](const ColumnPlan& c) { return c.name == k; });
    if (plan == columns->end()) {
      return InvalidArgument(what + ": the source has no column '" + k + "'");
    }
    keys.push_back(*plan);
  }
  ASSIGN_OR_RETURN(const int64_t total_rows, TotalRowsLocked());
  hashed_keys_ = std::move(keys);
  auto repeated = CollectRepeatedHashes(session_.get(), Relation(files_), KeyHashOver(*columns),
                                        total_rows, what);
  if (!repeated.ok()) {
    hashed_keys_.clear();
    return repeated.status();
  }
  // Below 2^63 (KeyHashOver shifts), so the values read back as bigint alike.
  return std::vector<int64_t>(repeated->begin(), repeated->end());
}

std::string DuckFileSource::KeyHashOver(const std::vector<ColumnPlan>& file_columns) const {
  std::string values;
  for (const ColumnPlan& k : hashed_keys_) {
    values += (values.empty() ? "" : ", ") + StoredValueFor(k, file_columns);
  }
  return "(hash(" + values + ") >> 1)";
}

std::string DuckFileSource::KeyHash(const std::vector<std::string>& key_source_columns) {
  std::string key_list;
  for (const auto& k : key_source_columns) {
    key_list += (key_list.empty() ? "" : ", ") + SqlIdentifier(k);
  }
  return "hash(" + key_list + ")";
}

Result<int64_t> DuckFileSource::TotalRowsLocked() {
  int64_t total_rows = 0;
  for (const std::string& file : files_) {
    ASSIGN_OR_RETURN(const std::vector<ChunkRef>* planned, FileChunksLocked(file));
    for (const ChunkRef& c : *planned) total_rows += c.row_count;
  }
  return total_rows;
}

Status DuckFileSource::SkipSupersededRows(const std::vector<std::string>& key_source_columns,
                                          const std::vector<std::string>& order_source_columns) {
  const std::string what =
      what_ + ": finding rows superseded on (" + JoinNames(key_source_columns) + ")";
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto columns, ColumnsLocked());
  ASSIGN_OR_RETURN(const int64_t total_rows, TotalRowsLocked());
  // Ranking every row would sort the whole source; only the keys that occur
  // more than once (found by their hashes, in bounded memory) need it.
  const std::string hash = KeyHash(key_source_columns);
  ASSIGN_OR_RETURN(const int64_t repeated,
                   FindRepeatedHashes(session_.get(), Relation(files_), hash, total_rows,
                                      "cutover_repeated", what));
  // Only the superseded rows are kept, 12 bytes each (the file as its index
  // in files_): the one part of a backfill's memory that grows with the
  // source, by the number of repeated rows. Their keys are ranked in parts
  // of about kRankedRowsPerPart rows (a repeated key has two rows or more),
  // since DuckDB's window holds what it ranks.
  constexpr int64_t kRankedRowsPerPart = 500000;
  const int64_t parts =
      std::max<int64_t>(1, (2 * repeated + kRankedRowsPerPart - 1) / kRankedRowsPerPart);
  std::string file_list;
  for (const std::string& f : files_) file_list += (file_list.empty() ? "" : ", ") + SqlLiteral(f);
  RETURN_IF_ERROR(session_->Execute(
      "CREATE OR REPLACE TABLE cutover_superseded (file INTEGER, file_row BIGINT)", what));
  for (int64_t part = 0; part < parts; ++part) {
    ASSIGN_OR_RETURN(
        const std::string ranked,
        RankedRelation(session_.get(), *columns, key_source_columns, order_source_columns, what,
                       hash + " IN (SELECT h FROM cutover_repeated WHERE h % " +
                           std::to_string(parts) + " = " + std::to_string(part) + ")"));
    RETURN_IF_ERROR(
        session_->Execute("INSERT INTO cutover_superseded SELECT CAST(list_position([" + file_list +
                              "], filename) AS INTEGER), file_row_number FROM " + ranked +
                              " WHERE cutover_rank > 1 AND " +
                              RankableCondition(key_source_columns, order_source_columns),
                          what));
  }
  RETURN_IF_ERROR(session_->Execute("DROP TABLE cutover_repeated", what));
  skip_superseded_ = true;
  superseded_counts_.clear();
  return Status::Ok();
}

Result<int64_t> DuckFileSource::SupersededRows(const ChunkRef& chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  return SupersededRowsLocked(chunk);
}

Result<int64_t> DuckFileSource::SupersededRowsLocked(const ChunkRef& chunk) {
  if (!skip_superseded_) return int64_t{0};
  // Asked twice per chunk (opening its reader, then checking its count).
  if (auto known = superseded_counts_.find(chunk.Id()); known != superseded_counts_.end()) {
    return known->second;
  }
  ASSIGN_OR_RETURN(
      const TextRows rows,
      session_->QueryText(
          "SELECT count(*) FROM cutover_superseded WHERE file = " + FileIndex(chunk.file) +
              " AND file_row >= " + std::to_string(chunk.first_row) + " AND file_row < " +
              std::to_string(chunk.first_row + chunk.row_count),
          what_ + ": counting the superseded rows of " + chunk.Id()));
  if (rows.size() != 1 || rows[0].size() != 1 || !rows[0][0]) {
    return Internal(what_ + ": unexpected result counting superseded rows");
  }
  const int64_t count = std::stoll(*rows[0][0]);
  superseded_counts_[chunk.Id()] = count;
  return count;
}

std::string DuckFileSource::FileIndex(const std::string& file) const {
  // list_position() counts from 1; 0 matches no row.
  for (size_t i = 0; i < files_.size(); ++i) {
    if (files_[i] == file) return std::to_string(i + 1);
  }
  return "0";
}

std::string DuckFileSource::SupersededFilter(const std::string& file, int64_t begin,
                                             int64_t end) const {
  if (!skip_superseded_) return {};
  // Only the chunk's own range: the anti-join's table stays chunk-sized.
  return " AND file_row_number NOT IN (SELECT file_row FROM cutover_superseded WHERE file = " +
         FileIndex(file) + " AND file_row >= " + std::to_string(begin) + " AND file_row < " +
         std::to_string(end) + ")";
}

Result<std::vector<std::pair<std::string, ValueType>>> DuckFileSource::Describe() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto columns, ColumnsLocked());
  std::vector<std::pair<std::string, ValueType>> out;
  for (const ColumnPlan& plan : *columns) out.emplace_back(plan.name, plan.type);
  return out;
}

Result<store::SourceProfile> DuckFileSource::Profile(const store::ProfileOptions& options) {
  ASSIGN_OR_RETURN(const std::vector<ChunkRef> chunks, PlanChunks());
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto columns, ColumnsLocked());
  store::SourceProfile profile;
  profile.files = files_;
  profile.file_rows.assign(files_.size(), 0);
  for (const ChunkRef& chunk : chunks) {
    for (size_t i = 0; i < files_.size(); ++i) {
      if (files_[i] == chunk.file) profile.file_rows[i] += chunk.row_count;
    }
    profile.row_count += chunk.row_count;
  }
  RETURN_IF_ERROR(ProfileRelation(session_.get(), Relation(files_), *columns, options, &profile)
                      .WithContext(what_));
  return profile;
}

}  // namespace cutover::duckdb_store
