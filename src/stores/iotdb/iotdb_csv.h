// A streaming reader for the CSV files IoTDB's export tool writes
// (export-csv.sh, export-data.sh -ft csv), row by row with resumable positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "stores/iotdb/iotdb_types.h"

namespace cutover::iotdb_store {

// A series column of an export file's header.
struct CsvSeriesColumn {
  // Align by time: the path before the last node ("" when the name has no
  // '.', e.g. an alias); align by device: "" (each row names its device).
  std::string device;
  std::string measurement;        // the last node, as written (backquotes kept)
  std::optional<IotdbType> type;  // from the header's "(TYPE)" suffix; nullopt: untyped header
  std::string header;             // the header cell as written (after unescaping)
};

struct IotdbCsvRow {
  int64_t line = 0;        // 1-based line number of the row in the file
  int64_t offset = 0;      // byte offset of the row's first byte
  int64_t end_offset = 0;  // byte offset just after the row's line ending
  std::string raw;         // the row's text, without its line ending (kept for a reject)
  // Non-empty: the row cannot be read; says why and where (column name and
  // number); then time, device and values are unset.
  std::string problem;
  int64_t time = 0;    // epoch in the reader's precision
  std::string device;  // align by device: the Device cell; align by time: ""
  std::vector<std::optional<IotdbValue>> values;  // one per columns(); nullopt: empty cell
};

// Reads one export file front to back in 1 MiB blocks: memory stays bounded
// by the longest line, whatever the file's size.
//
// The file is the export tool's Commons CSV output: ',' between cells, no CSV
// quoting, a backslash escaping ',' '\' and (as "\r" "\n") line breaks; "\t"
// "\b" "\f" are unescaped as well, and a backslash before any other byte
// stands for that byte (a lone backslash ending a line makes the row a
// problem). A double quote is an ordinary character. Lines end in
// "\r\n" or "\n" (the last may have no ending); empty lines are skipped but
// counted, and a UTF-8 BOM at the start is dropped.
//
// The header's first cell is "Time"; a second cell "Device" makes the file
// align-by-device, whose other cells are measurement names, while otherwise
// each cell is a full series path, split at its last '.' outside backquotes.
// A "(TYPE)" suffix naming an IoTDB type types the column.
//
// A typed column's cells go through CanonicalValue. An untyped column's
// non-empty cell is inferred, first match wins:
//   "..." (starts and ends with '"')       TEXT, the quotes stripped
//   true / false (any case)                BOOLEAN
//   an integer that fits int64             INT64
//   another number: digits with a point
//     and/or exponent, NaN, Infinity,
//     -Infinity (Java's spellings only)    DOUBLE
//   0x + an even number of hex digits      BLOB
//   yyyy-mm-dd (a real date)               DATE
//   anything else                          TEXT, as it is
// Inference cannot tell an unquoted TEXT/STRING (1.3.0-1.3.1 left STRING
// unquoted; a value starting "root." is never quoted) from a number, so
// untyped files should have their types from the server's schema instead.
//
// Not thread-safe; one reader belongs to one scanning thread.
class IotdbCsvReader {
 public:
  ~IotdbCsvReader();
  IotdbCsvReader(const IotdbCsvReader&) = delete;
  IotdbCsvReader& operator=(const IotdbCsvReader&) = delete;

  // Opens `path` and reads its header line, then positions at `offset`: 0
  // means the first row after the header; otherwise an end_offset a previous
  // reader of the same file returned, with `line` the line number of the row
  // before it (so the next row is line+1).
  static Result<std::unique_ptr<IotdbCsvReader>> Open(const std::string& path,
                                                      TimePrecision precision, int64_t offset = 0,
                                                      int64_t line = 0);

  bool align_by_device() const { return align_by_device_; }
  const std::vector<CsvSeriesColumn>& columns() const { return columns_; }

  // The next row; false at the end of the file. A row that cannot be read is
  // returned with `problem` set (not an error Status): the caller rejects it
  // and goes on. Only I/O errors (and a bad header) are error Statuses,
  // naming the file.
  Result<bool> Next(IotdbCsvRow* row);

 private:
  IotdbCsvReader(std::string path, TimePrecision precision);

  Status ReadHeader();
  Status Seek(int64_t offset, int64_t line);
  // The next line without its ending, valid until the next call; false at
  // the end of the file. Sets the line's start and end offsets.
  Result<bool> ReadLine(std::string_view* line, int64_t* start, int64_t* end);
  // Fills `row` from its line (already in row->raw).
  void ParseRow(IotdbCsvRow* row);
  std::optional<IotdbValue> Infer(std::string_view cell) const;

  const std::string path_;
  const TimePrecision precision_;
  int fd_ = -1;

  bool align_by_device_ = false;
  std::vector<CsvSeriesColumn> columns_;
  size_t cells_per_row_ = 0;  // Time (+ Device) + columns_

  // Block buffer: bytes [pos_, len_) are unread; buf_[0] is at file offset base_.
  std::string buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  int64_t base_ = 0;
  bool eof_ = false;
  int64_t line_ = 0;  // line number of the last line read

  std::vector<std::string> cells_;  // reused per row
};

}  // namespace cutover::iotdb_store
