// CsvSource: read_csv with explicit dialect, a row count per file, row-range
// chunks, and line numbers when rows and lines coincide.
#include "stores/duckdb/csv_source.h"

#include <charconv>
#include <cstring>
#include <fstream>

namespace cutover::duckdb_store {
namespace {

// Lines in the file (a last line without '\n' counts), or -1 on error.
int64_t CountLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return -1;
  std::vector<char> buf(1 << 20);
  int64_t lines = 0;
  char last = '\n';
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    const char* p = buf.data();
    const char* end = p + n;
    while ((p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr) {
      ++lines;
      ++p;
    }
    last = buf[n - 1];
  }
  if (in.bad()) return -1;
  if (last != '\n') ++lines;
  return lines;
}

}  // namespace

CsvSource::CsvSource(std::unique_ptr<DuckSession> session, std::vector<std::string> files,
                     std::string what, spec::CsvOptions csv, int64_t chunk_rows)
    : DuckFileSource(std::move(session), std::move(files), std::move(what)),
      csv_(std::move(csv)),
      chunk_rows_(chunk_rows > 0 ? chunk_rows : 1000000) {}

std::string CsvSource::Arguments(const std::vector<ColumnPlan>* pinned) const {
  std::string args =
      ", delim = " + SqlLiteral(csv_.delimiter) + ", quote = " + SqlLiteral(csv_.quote) +
      ", escape = " + SqlLiteral(csv_.escape) + ", header = " + (csv_.header ? "true" : "false") +
      ", encoding = " + SqlLiteral(csv_.encoding);
  if (csv_.null_string) args += ", nullstr = " + SqlLiteral(*csv_.null_string);
  // DuckDB's default candidates without TIMESTAMPTZ: a column it would type
  // so reads values without an offset as UTC. Such a column stays text, and
  // the mapper applies the spec's zone to those values or rejects them.
  args +=
      ", auto_type_candidates = ['BOOLEAN', 'BIGINT', 'DOUBLE', 'TIME', 'DATE', 'TIMESTAMP', "
      "'VARCHAR']";
  if (pinned != nullptr && !pinned->empty()) {
    std::string types;
    for (const ColumnPlan& c : *pinned) {
      types += (types.empty() ? "" : ", ") + SqlLiteral(c.name) + ": " + SqlLiteral(c.native_type);
    }
    args += ", types = {" + types + "}";
  }
  return args;
}

std::string CsvSource::Relation(const std::vector<std::string>& files) const {
  if (files.size() == 1) return "read_csv(" + SqlLiteral(files[0]) + Arguments(nullptr) + ")";
  std::string list = "[";
  for (size_t i = 0; i < files.size(); ++i) list += (i ? ", " : "") + SqlLiteral(files[i]);
  return "read_csv(" + list + "]" + Arguments(nullptr) + ", union_by_name = true)";
}

std::string CsvSource::DedupRelation() const {
  // read_csv has no file_row_number; row_number() over an unordered window
  // streams in the scan's order, the order the chunks' OFFSETs count in.
  std::string out;
  for (const std::string& file : files_) {
    out += std::string(out.empty() ? "" : " UNION ALL BY NAME ") + "SELECT *, " + SqlLiteral(file) +
           " AS filename, row_number() OVER () - 1 AS file_row_number FROM read_csv(" +
           SqlLiteral(file) + Arguments(nullptr) + ")";
  }
  return "(" + out + ")";
}

Result<std::vector<ChunkRef>> CsvSource::PlanFile(DuckSession* session, const std::string& file,
                                                  const std::vector<ColumnPlan>& columns) {
  const std::string what = what_ + ": counting the rows of " + file;
  ASSIGN_OR_RETURN(
      const TextRows rows,
      session->QueryText(
          "SELECT count(*) FROM read_csv(" + SqlLiteral(file) + Arguments(&columns) + ")", what));
  int64_t total = 0;
  if (rows.size() != 1 || rows[0].empty() || !rows[0][0] ||
      std::from_chars(rows[0][0]->data(), rows[0][0]->data() + rows[0][0]->size(), total).ec !=
          std::errc()) {
    return Internal(what + ": unexpected count result");
  }
  int64_t line_of_row0 = -1;
  if (csv_.encoding != "utf-16") {
    const int64_t header_lines = csv_.header ? 1 : 0;
    if (CountLines(file) == total + header_lines) line_of_row0 = 1 + header_lines;
  }
  line_of_row0_[file] = line_of_row0;
  std::vector<ChunkRef> chunks;
  for (int64_t first = 0; first < total; first += chunk_rows_) {
    chunks.push_back(ChunkRef{file, first, std::min(chunk_rows_, total - first)});
  }
  return chunks;
}

ChunkQuery CsvSource::MakeQuery(const ChunkRef& chunk, const std::string& select_list,
                                const std::vector<ColumnPlan>& file_columns) const {
  ChunkQuery q;
  q.file = chunk.file;
  q.first_row = chunk.first_row;
  q.row_count = chunk.row_count;
  q.ordinal_column = true;
  const auto it = line_of_row0_.find(chunk.file);
  q.line_of_row0 = it != line_of_row0_.end() ? it->second : -1;
  // Rows are numbered as DedupRelation numbers them, so that the superseded
  // ones (by file_row_number) can be left out.
  const std::string from = "read_csv(" + SqlLiteral(chunk.file) + Arguments(&file_columns) + ")";
  q.make_sql =
      [select_list, from,
       skip = SupersededFilter(chunk.file, chunk.first_row, chunk.first_row + chunk.row_count)](
          int64_t begin, int64_t end) {
        return "SELECT * FROM (SELECT row_number() OVER () - 1 AS file_row_number, " + select_list +
               " FROM " + from + " LIMIT " + std::to_string(end - begin) + " OFFSET " +
               std::to_string(begin) + ") WHERE true" + skip;
      };
  return q;
}

}  // namespace cutover::duckdb_store
