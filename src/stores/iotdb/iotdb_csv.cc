// A streaming reader for IoTDB export CSV files: block reads, Commons CSV
// unescaping, header parsing and per-row values in canonical form.
#include "stores/iotdb/iotdb_csv.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace cutover::iotdb_store {
namespace {

constexpr size_t kBlockSize = 1 << 20;

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string message =
      std::string(what) + " " + path + ": " + std::generic_category().message(err);
  return err == ENOENT ? NotFound(std::move(message)) : IoError(std::move(message));
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Splits `line` into `cells` on unescaped ',' and unescapes each cell the
// way Commons CSV's lexer does. Returns a problem, or "" when fine.
std::string SplitCells(std::string_view line, std::vector<std::string>* cells) {
  size_t n = 0;
  const auto next_cell = [&]() -> std::string& {
    if (n == cells->size()) cells->emplace_back();
    std::string& cell = (*cells)[n++];
    cell.clear();
    return cell;
  };
  std::string* cell = &next_cell();
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ',') {
      cell = &next_cell();
    } else if (c != '\\') {
      cell->push_back(c);
    } else if (i + 1 == line.size()) {
      // The exporter escapes every backslash, so a lone one at the end means
      // the line was cut or edited; guessing what it stood for could corrupt a value.
      cells->resize(n);
      return "the line ends in a lone backslash";
    } else {
      switch (const char e = line[++i]) {
        case 'n':
          cell->push_back('\n');
          break;
        case 'r':
          cell->push_back('\r');
          break;
        case 't':
          cell->push_back('\t');
          break;
        case 'b':
          cell->push_back('\b');
          break;
        case 'f':
          cell->push_back('\f');
          break;
        default:
          cell->push_back(e);
          break;
      }
    }
  }
  cells->resize(n);
  return "";
}

// The position of the last `c` in `s` outside backquoted nodes, or npos. A
// doubled backquote inside a quoted node toggles twice, so it stays inside.
size_t LastUnquoted(std::string_view s, char c) {
  size_t found = std::string_view::npos;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '`') {
      quoted = !quoted;
    } else if (s[i] == c && !quoted) {
      found = i;
    }
  }
  return found;
}

// Splits "name(TYPE)" when TYPE is an IoTDB type; otherwise the whole cell is the name.
std::pair<std::string_view, std::optional<IotdbType>> SplitType(std::string_view cell) {
  if (cell.empty() || cell.back() != ')') return {cell, std::nullopt};
  const size_t open = LastUnquoted(cell, '(');
  if (open == std::string_view::npos || open == 0) return {cell, std::nullopt};
  std::optional<IotdbType> type = ParseIotdbType(cell.substr(open + 1, cell.size() - open - 2));
  if (!type) return {cell, std::nullopt};
  return {cell.substr(0, open), type};
}

// Java's Double.toString shapes: digits with a point and/or an exponent.
bool LooksLikeDecimal(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

bool LooksLikeInteger(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

std::string ColumnName(size_t index, std::string_view header) {
  return "column " + std::to_string(index + 1) + " (" + std::string(header) + ")";
}

}  // namespace

IotdbCsvReader::IotdbCsvReader(std::string path, TimePrecision precision)
    : path_(std::move(path)), precision_(precision) {}

IotdbCsvReader::~IotdbCsvReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<IotdbCsvReader>> IotdbCsvReader::Open(const std::string& path,
                                                             TimePrecision precision,
                                                             int64_t offset, int64_t line) {
  std::unique_ptr<IotdbCsvReader> reader(new IotdbCsvReader(path, precision));
  reader->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (reader->fd_ < 0) return ErrnoStatus("cannot open", path, errno);
  RETURN_IF_ERROR(reader->ReadHeader());
  if (offset != 0) RETURN_IF_ERROR(reader->Seek(offset, line));
  return reader;
}

Status IotdbCsvReader::ReadHeader() {
  std::string_view text;
  int64_t start = 0;
  int64_t end = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool got, ReadLine(&text, &start, &end));
    if (!got) return DataError(path_ + ": no header line (the file is empty)");
    ++line_;
    if (start == 0 && text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    if (!text.empty()) break;
  }
  std::vector<std::string> cells;
  std::string problem = SplitCells(text, &cells);
  if (!problem.empty()) return DataError(path_ + ": bad header: " + problem);
  if (!EqualsIgnoreCase(cells[0], "time")) {
    return DataError(path_ + ": the header's first cell is \"" + cells[0] +
                     "\", not Time: not an IoTDB export file");
  }
  align_by_device_ = cells.size() >= 2 && EqualsIgnoreCase(cells[1], "device");
  cells_per_row_ = cells.size();
  for (size_t i = align_by_device_ ? 2 : 1; i < cells.size(); ++i) {
    CsvSeriesColumn column;
    auto [name, type] = SplitType(cells[i]);
    column.type = type;
    const size_t dot = align_by_device_ ? std::string_view::npos : LastUnquoted(name, '.');
    if (dot == std::string_view::npos) {
      column.measurement = std::string(name);
    } else {
      column.device = std::string(name.substr(0, dot));
      column.measurement = std::string(name.substr(dot + 1));
    }
    column.header = std::move(cells[i]);
    columns_.push_back(std::move(column));
  }
  return Status::Ok();
}

Status IotdbCsvReader::Seek(int64_t offset, int64_t line) {
  const int64_t header_end = base_ + static_cast<int64_t>(pos_);
  struct stat st;
  if (fstat(fd_, &st) != 0) return ErrnoStatus("cannot stat", path_, errno);
  if (offset < header_end || offset > st.st_size) {
    return InvalidArgument("cannot resume " + path_ + " at offset " + std::to_string(offset) +
                           ": rows lie between " + std::to_string(header_end) + " and " +
                           std::to_string(st.st_size));
  }
  // A row's end_offset follows a '\n' or is the end of the file; anything
  // else means the position belongs to another version of the file.
  if (offset < st.st_size) {
    char before = 0;
    ssize_t n;
    do {
      n = ::pread(fd_, &before, 1, offset - 1);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoStatus("cannot read", path_, errno);
    if (n != 1 || before != '\n') {
      return InvalidArgument("cannot resume " + path_ + " at offset " + std::to_string(offset) +
                             ": it is not the start of a line");
    }
  }
  if (::lseek(fd_, offset, SEEK_SET) < 0) return ErrnoStatus("cannot seek in", path_, errno);
  base_ = offset;
  pos_ = 0;
  len_ = 0;
  eof_ = false;
  line_ = line;
  return Status::Ok();
}

Result<bool> IotdbCsvReader::ReadLine(std::string_view* line, int64_t* start, int64_t* end) {
  size_t scan = pos_;
  for (;;) {
    const void* nl = scan < len_ ? std::memchr(buf_.data() + scan, '\n', len_ - scan) : nullptr;
    size_t stop = 0;   // one past the line's last byte
    size_t after = 0;  // one past its line ending
    if (nl != nullptr) {
      stop = static_cast<size_t>(static_cast<const char*>(nl) - buf_.data());
      after = stop + 1;
    } else if (eof_) {
      if (pos_ == len_) return false;
      stop = after = len_;
    }
    if (after != 0) {
      if (stop > pos_ && buf_[stop - 1] == '\r') --stop;
      *line = std::string_view(buf_.data() + pos_, stop - pos_);
      *start = base_ + static_cast<int64_t>(pos_);
      *end = base_ + static_cast<int64_t>(after);
      pos_ = after;
      return true;
    }
    // No line ending in the buffer: move the partial line to the front and
    // read another block after it, growing the buffer only for a longer line.
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
      base_ += static_cast<int64_t>(pos_);
      len_ -= pos_;
      pos_ = 0;
    }
    scan = len_;
    if (buf_.size() < len_ + kBlockSize) buf_.resize(len_ + kBlockSize);
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data() + len_, kBlockSize);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoStatus("cannot read", path_, errno);
    if (n == 0) eof_ = true;
    len_ += static_cast<size_t>(n);
  }
}

Result<bool> IotdbCsvReader::Next(IotdbCsvRow* row) {
  std::string_view text;
  int64_t start = 0;
  int64_t end = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool got, ReadLine(&text, &start, &end));
    if (!got) return false;
    ++line_;
    if (!text.empty()) break;
  }
  row->line = line_;
  row->offset = start;
  row->end_offset = end;
  row->raw.assign(text);
  ParseRow(row);
  return true;
}

void IotdbCsvReader::ParseRow(IotdbCsvRow* row) {
  row->problem.clear();
  row->time = 0;
  row->device.clear();
  row->values.clear();
  const auto fail = [row](std::string problem) {
    row->problem = std::move(problem);
    row->time = 0;
    row->device.clear();
    row->values.clear();
  };

  std::string problem = SplitCells(row->raw, &cells_);
  if (!problem.empty()) return fail(std::move(problem));
  if (cells_.size() != cells_per_row_) {
    problem = "row has " + std::to_string(cells_.size()) + " cells, the header has " +
              std::to_string(cells_per_row_);
    if (cells_.size() + 1 == cells_per_row_) {
      problem += " (IoTDB 1.x leaves out the Time cell of a row at time 0)";
    }
    return fail(std::move(problem));
  }

  Result<int64_t> time = ParseIotdbTime(cells_[0], precision_);
  if (!time.ok()) return fail("column 1 (Time): " + time.status().message());
  row->time = *time;

  size_t first = 1;
  if (align_by_device_) {
    if (cells_[1].empty()) return fail("column 2 (Device) is empty");
    row->device = cells_[1];
    first = 2;
  }

  row->values.reserve(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) {
    const std::string& cell = cells_[first + i];
    if (cell.empty()) {
      row->values.emplace_back(std::nullopt);
    } else if (!columns_[i].type) {
      row->values.emplace_back(Infer(cell));
    } else {
      Result<IotdbValue> value = CanonicalValue(*columns_[i].type, cell, precision_);
      if (!value.ok()) {
        return fail(ColumnName(first + i, columns_[i].header) + ": " + value.status().message());
      }
      row->values.emplace_back(std::move(*value));
    }
  }
}

std::optional<IotdbValue> IotdbCsvReader::Infer(std::string_view cell) const {
  const auto as = [&](IotdbType type) -> std::optional<IotdbValue> {
    Result<IotdbValue> value = CanonicalValue(type, cell, precision_);
    if (!value.ok()) return std::nullopt;
    return std::move(*value);
  };
  std::optional<IotdbValue> value;
  if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') return as(IotdbType::kText);
  if (EqualsIgnoreCase(cell, "true") || EqualsIgnoreCase(cell, "false")) {
    return as(IotdbType::kBoolean);
  }
  if (LooksLikeInteger(cell) && (value = as(IotdbType::kInt64))) return value;
  if (LooksLikeInteger(cell) || LooksLikeDecimal(cell) || cell == "NaN" || cell == "Infinity" ||
      cell == "-Infinity") {
    // An out-of-range number ("1e999") is no double: it falls through to TEXT.
    if ((value = as(IotdbType::kDouble))) return value;
  }
  if (cell.size() >= 2 && cell[0] == '0' && (cell[1] == 'x' || cell[1] == 'X') &&
      (value = as(IotdbType::kBlob))) {
    return value;
  }
  if (cell.size() == 10 && (value = as(IotdbType::kDate))) return value;
  return IotdbValue{IotdbType::kText, std::string(cell)};
}

}  // namespace cutover::iotdb_store
