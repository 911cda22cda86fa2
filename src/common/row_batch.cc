#include "common/row_batch.h"

namespace cutover {

void Column::AppendFrom(const Column& other, size_t row) {
  if (other.IsNull(row)) {
    AppendNull();
  } else if (IsFixedWidth(type_)) {
    AppendInt(other.IntAt(row));
  } else {
    AppendBytes(other.BytesAt(row));
  }
}

void Column::PopBack() {
  if (is_null_.empty()) return;
  is_null_.pop_back();
  if (IsFixedWidth(type_)) {
    fixed_.pop_back();
  } else {
    ends_.pop_back();
    bytes_.resize(ends_.empty() ? 0 : ends_.back());
  }
}

void Column::Clear() {
  is_null_.clear();
  fixed_.clear();
  bytes_.clear();
  ends_.clear();
}

int RowBatch::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

RowBatch RowBatch::Select(const std::vector<size_t>& rows) const {
  RowBatch out;
  for (size_t c = 0; c < columns.size(); ++c) {
    out.AddColumn(names[c], columns[c].type());
    out.columns[c].set_wall_clock(columns[c].wall_clock());
    for (size_t r : rows) out.columns[c].AppendFrom(columns[c], r);
  }
  return out;
}

}  // namespace cutover
