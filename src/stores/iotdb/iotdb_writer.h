// IotdbWriter: points written back into IoTDB over its REST API: a tablet per
// device, SQL for BLOBs, DELETE for points PostgreSQL no longer has.
#pragma once

#include <memory>

#include "spec/spec.h"
#include "store/writer.h"

namespace cutover::iotdb_store {

// IotdbWriter design
//
// Takes the documents map::IotdbRecordBuilder makes (a point with its
// series, epoch and value columns; a wide row with a value per
// measurement), keyed by spec::SeriesPointKey. A point at a series and time
// is IoTDB's unit of state: writing it again replaces it, so every write is
// idempotent and a Flush that failed half way is simply sent again.
//
// Flush sends, per device, one insertTablet (REST v2: values column by
// column, null where a measurement has no point at a time) with the points
// of every type insertTablet carries, and one SQL INSERT per BLOB series
// through nonQuery with X'..' literals, because insertTablet stores a BLOB's
// JSON text as its bytes and cannot carry arbitrary bytes; then one DELETE
// per time for the points to remove. A value is written as its series'
// type, which the writer learns once per device from SHOW TIMESERIES: the
// family column of that type first ("$numeric" for a DOUBLE, "$integer" for
// an INT64, ...), "$value" when the row has none; a value the type cannot
// hold exactly (21.5 into an INT32, text that is not UTF-8 into a TEXT) is a
// DataError, never a rounded point. A series IoTDB does not have yet is
// created by the insert with the type the document suggests. A DATE goes as
// the integer yyyyMMdd insertTablet reads it as, a TIMESTAMP as its epoch in
// the source's precision. Not thread-safe: one writer per thread.
std::unique_ptr<store::Writer> NewIotdbWriter(const spec::SourceSpec& source,
                                              const spec::EntitySpec& entity);

}  // namespace cutover::iotdb_store
