// SeriesSpan: one pass over an IoTDB entity's points, and the interval advice.
#include "engine/inspect/series_span.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <string_view>

#include "engine/core/source_factory.h"
#include "store/store.h"

namespace cutover::engine {
namespace {

constexpr double kAimPerPartition = 5e6;
constexpr int64_t kLeastPointsToPartition = 1'000'000;
constexpr size_t kBatch = 10'000;

// The "$epoch" of one of the IoTDB reader's documents; nullopt for a record
// the reader could not read ({"$error": ...}).
std::optional<int64_t> EpochOf(std::string_view doc) {
  constexpr std::string_view kMember = "\"$epoch\":";
  const size_t at = doc.find(kMember);
  if (at == std::string_view::npos) return std::nullopt;
  int64_t epoch = 0;
  const char* begin = doc.data() + at + kMember.size();
  const auto [end, ec] = std::from_chars(begin, doc.data() + doc.size(), epoch);
  if (ec != std::errc() || end == begin) return std::nullopt;
  return epoch;
}

}  // namespace

Result<SeriesSpan> MeasureSeriesSpan(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity) {
  if (!entity.iotdb) return InvalidArgument(entity.name + " reads no IoTDB series");
  ASSIGN_OR_RETURN(auto store, OpenEntityStore(migration, entity, 1));
  ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions, store->snapshot().Plan());
  SeriesSpan span;
  store::StoreBatch batch;
  for (const store::Partition& partition : partitions) {
    ASSIGN_OR_RETURN(auto reader, store->snapshot().Open(partition, store::Cursor{}));
    int64_t points = 0;
    for (;;) {
      ASSIGN_OR_RETURN(const bool more, reader->Next(kBatch, &batch));
      const Column& docs = batch.rows.columns[0];
      for (size_t i = 0; i < batch.size(); ++i) {
        const std::optional<int64_t> epoch = EpochOf(docs.BytesAt(i));
        if (!epoch) continue;
        ++points;
        if (!span.first_epoch || *epoch < *span.first_epoch) span.first_epoch = epoch;
        if (!span.last_epoch || *epoch > *span.last_epoch) span.last_epoch = epoch;
      }
      if (!more) break;
    }
    span.parts.emplace_back(partition.origin, points);
    span.points += points;
  }
  if (span.first_epoch) {
    const double units_per_day = 86400.0 * std::pow(10.0, entity.iotdb->precision_digits);
    span.span_days = static_cast<double>(*span.last_epoch - *span.first_epoch) / units_per_day;
  }
  return span;
}

PartitionAdvice AdvisePartitionInterval(int64_t points, double span_days) {
  PartitionAdvice advice{"", static_cast<double>(points), ""};
  if (points < kLeastPointsToPartition) {
    advice.reason = fmt::format(
        "{} points: too few to gain from partitions (one table and its indexes serve them)",
        points);
    return advice;
  }
  // A span under a day reads as a day: the rate is then at least the points.
  const double days = std::max(span_days, 1.0);
  struct Interval {
    const char* every;
    double days;
  };
  constexpr std::array<Interval, 4> kIntervals = {
      {{"1 day", 1}, {"1 week", 7}, {"1 month", 30.436875}, {"1 year", 365.2425}}};
  double best = INFINITY;
  for (const Interval& interval : kIntervals) {
    const double per = static_cast<double>(points) / days * interval.days;
    const double distance = std::fabs(std::log(per / kAimPerPartition));
    if (distance < best) {
      best = distance;
      advice.every = interval.every;
      advice.points_per_partition = per;
    }
  }
  advice.reason = fmt::format(
      "{} points over {:.1f} days: about {:.0f} per {} at that rate, nearest the aim of {:.0f} "
      "a partition",
      points, span_days, advice.points_per_partition, advice.every.substr(2), kAimPerPartition);
  return advice;
}

}  // namespace cutover::engine
