// TimePartitions: interval arithmetic on the calendar, and the DDL that
// attaches a missing partition (see the design note in the header).
#include "stores/postgres/time_partitions.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/civil_calendar.h"

namespace cutover::pg_store {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// Days since 1970-01-01 of the column value.
int64_t UnixDays(const TableShape& shape, int64_t value) {
  const int at = shape.IndexOf(shape.partition->column);
  if (shape.columns[at].type == ValueType::kDate) return value + kUnixToPgDays;
  return FloorDiv(value, kMicrosPerDay) + kUnixToPgDays;
}

std::string Literal(const TableShape& shape, const Civil& day) {
  const int at = shape.IndexOf(shape.partition->column);
  const std::string date = fmt::format("{:04d}-{:02d}-{:02d}", day.year, day.month, day.day);
  return shape.columns[at].type == ValueType::kDate ? "'" + date + "'"
                                                    : "'" + date + " 00:00:00+00'";
}

}  // namespace

TimePartition PartitionOf(const TableShape& shape, int64_t value) {
  const spec::TimePartitionSpec& p = *shape.partition;
  const int64_t days = UnixDays(shape, value);
  TimePartition out;
  Civil from{};
  Civil to{};
  if (p.months > 0) {
    const Civil c = CivilFromDays(days);
    const int64_t month_index = c.year * 12 + (c.month - 1);
    const int64_t start = FloorDiv(month_index, p.months) * p.months;
    const int64_t end = start + p.months;
    from = {FloorDiv(start, 12), static_cast<int>(start - FloorDiv(start, 12) * 12) + 1, 1};
    to = {FloorDiv(end, 12), static_cast<int>(end - FloorDiv(end, 12) * 12) + 1, 1};
    out.name = fmt::format("{}_p{:04d}_{:02d}", shape.table, from.year, from.month);
  } else {
    // Aligned to Monday 2000-01-03, so that 7 days are ISO weeks.
    const int64_t anchor = DaysFromCivil(2000, 1, 3);
    const int64_t start = anchor + FloorDiv(days - anchor, p.days) * p.days;
    from = CivilFromDays(start);
    to = CivilFromDays(start + p.days);
    out.name =
        fmt::format("{}_p{:04d}_{:02d}_{:02d}", shape.table, from.year, from.month, from.day);
  }
  out.from = Literal(shape, from);
  out.to = Literal(shape, to);
  return out;
}

std::string DefaultPartitionName(const TableShape& shape) {
  return shape.table + "_default";
}

Status EnsureTimePartitions(PgConnection* conn, const TableShape& shape, const RowBatch& batch,
                            std::span<const uint32_t> rows) {
  if (!shape.partition || rows.empty()) return Status::Ok();
  const int at = shape.IndexOf(shape.partition->column);
  if (at < 0) {
    return Internal("table " + shape.QualifiedName() + " has no partition column " +
                    shape.partition->column);
  }
  const Column& column = batch.columns[at];
  // The partitions the rows need, by name (a batch of telemetry touches one
  // or two).
  std::vector<TimePartition> needed;
  std::set<std::string> names;
  for (uint32_t r : rows) {
    if (column.IsNull(r)) continue;  // the key's NOT NULL refuses it later
    TimePartition p = PartitionOf(shape, column.IntAt(r));
    if (names.insert(p.name).second) needed.push_back(std::move(p));
  }
  if (needed.empty()) return Status::Ok();
  const std::string parent = shape.QualifiedName();
  auto attached = [&]() -> Result<std::set<std::string>> {
    ASSIGN_OR_RETURN(QueryResult r,
                     conn->Query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = "
                                 "i.inhrelid WHERE i.inhparent = $1::regclass",
                                 {parent}));
    std::set<std::string> out;
    for (const auto& row : r.rows) out.insert(row[0].value_or(""));
    return out;
  };
  ASSIGN_OR_RETURN(std::set<std::string> existing, attached());
  if (std::all_of(needed.begin(), needed.end(),
                  [&](const TimePartition& p) { return existing.contains(p.name); })) {
    return Status::Ok();
  }
  RETURN_IF_ERROR(conn->Exec(fmt::format("SELECT pg_advisory_xact_lock(hashtext({}))",
                                         QuoteLiteral("cutover.partitions:" + parent))));
  ASSIGN_OR_RETURN(existing, attached());
  for (const TimePartition& p : needed) {
    if (existing.contains(p.name)) continue;
    const std::string child = QualifiedName(shape.schema, p.name);
    const Status st = conn->Exec(fmt::format(
        "CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS); "
        "ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})",
        child, parent, parent, child, p.from, p.to));
    if (!st.ok()) {
      return st.WithContext(fmt::format(
          "creating partition {} of {} for [{}, {}) (rows of that range in the default partition "
          "{} stop it: move them out first, deleting and inserting them through {}, so that "
          "its triggers see both)",
          p.name, parent, p.from, p.to, DefaultPartitionName(shape), parent));
    }
  }
  return Status::Ok();
}

}  // namespace cutover::pg_store
