// RowBatch: the columnar unit that flows source -> map -> target. Typed
// columns with a null flag per row, so encoders loop without virtual calls.
#pragma once

#include <bit>
#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/value_type.h"

namespace cutover {

// One column of a batch. Fixed-width types keep one int64 slot per row
// (float64 as its bit pattern); the others keep their bytes back to back in
// `bytes` with `ends[i]` the end offset of row i. A null row still takes a
// slot (0, or an empty byte range) so that row i is always at index i.
// Not thread-safe; a batch belongs to one stage of the pipeline at a time.
class Column {
 public:
  explicit Column(ValueType type) : type_(type) {}

  ValueType type() const { return type_; }
  size_t size() const { return is_null_.size(); }

  // A kTimestamptz column whose values are wall-clock times of an unnamed
  // zone (a Parquet TIMESTAMP without isAdjustedToUTC, a CSV timestamp
  // without offset), held as if they were UTC. Mappers must not take them
  // for instants without the zone the spec names (map/value_parsers.h).
  bool wall_clock() const { return wall_clock_; }
  void set_wall_clock(bool wall_clock) { wall_clock_ = wall_clock; }

  void AppendNull() {
    is_null_.push_back(1);
    if (IsFixedWidth(type_)) {
      fixed_.push_back(0);
    } else {
      ends_.push_back(bytes_.size());
    }
  }
  // A value of the wrong width would misalign every row after it, so debug
  // builds check it.
  void AppendInt(int64_t v) {
    assert(IsFixedWidth(type_));
    is_null_.push_back(0);
    fixed_.push_back(v);
  }
  void AppendFloat(double v) { AppendInt(std::bit_cast<int64_t>(v)); }
  void AppendBool(bool v) { AppendInt(v ? 1 : 0); }
  void AppendBytes(std::string_view v) {
    assert(!IsFixedWidth(type_));
    is_null_.push_back(0);
    bytes_.append(v);
    ends_.push_back(bytes_.size());
  }
  // Appends row `row` of `other`, which must have the same type.
  void AppendFrom(const Column& other, size_t row);

  bool IsNull(size_t row) const { return is_null_[row] != 0; }
  int64_t IntAt(size_t row) const { return fixed_[row]; }
  double FloatAt(size_t row) const { return std::bit_cast<double>(fixed_[row]); }
  bool BoolAt(size_t row) const { return fixed_[row] != 0; }
  std::string_view BytesAt(size_t row) const {
    size_t begin = row == 0 ? 0 : ends_[row - 1];
    return std::string_view(bytes_).substr(begin, ends_[row] - begin);
  }

  // Removes the last row; used when a record is rejected half-way through.
  void PopBack();
  void Clear();
  size_t ByteSize() const { return bytes_.size() + fixed_.size() * 8 + is_null_.size(); }

 private:
  ValueType type_;
  bool wall_clock_ = false;
  std::vector<uint8_t> is_null_;
  std::vector<int64_t> fixed_;
  std::string bytes_;
  std::vector<size_t> ends_;
};

// Named columns of equal length.
struct RowBatch {
  std::vector<std::string> names;
  std::vector<Column> columns;

  size_t num_rows() const { return columns.empty() ? 0 : columns[0].size(); }
  void AddColumn(std::string name, ValueType type) {
    names.push_back(std::move(name));
    columns.emplace_back(type);
  }
  // Index of the named column, or -1.
  int IndexOf(std::string_view name) const;
  void Clear() {
    for (auto& c : columns) c.Clear();
  }
  size_t ByteSize() const {
    size_t n = 0;
    for (const auto& c : columns) n += c.ByteSize();
    return n;
  }
  // A batch of the same columns holding rows `rows`, in that order.
  RowBatch Select(const std::vector<size_t>& rows) const;
};

}  // namespace cutover
