// SeriesSpan: an IoTDB entity's points counted and their time span measured,
// and the partition interval that size and span suggest for its table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::engine {

struct SeriesSpan {
  int64_t points = 0;
  // Per device (REST) or export file (CSV): its name and its points.
  std::vector<std::pair<std::string, int64_t>> parts;
  std::optional<int64_t> first_epoch, last_epoch;  // in the source's precision
  double span_days = 0;                            // last - first
};

// Reads every record of `entity`'s series as a backfill would, counting the
// points (records that are not read errors) and their first and last time.
Result<SeriesSpan> MeasureSeriesSpan(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity);

// Partition interval design
//
// A partition should be big enough that planning over many of them and
// attaching one as time moves on cost little, and small enough that a query
// of a day or a week touches few rows: the aim is about five million points
// a partition. Of day, week, month and year, the interval whose expected
// points per partition (points / span * interval) is nearest that aim on a
// log scale is proposed; under a million points in all, none, since one
// table's indexes serve such a table as well as partitions would. The
// estimate assumes the points arrive at the rate they did over the span.
struct PartitionAdvice {
  std::string every;            // "1 month", ...; empty: no partitions
  double points_per_partition;  // expected, at the span's rate
  std::string reason;           // one sentence with the figures
};
PartitionAdvice AdvisePartitionInterval(int64_t points, double span_days);

}  // namespace cutover::engine
