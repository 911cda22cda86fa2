// IotdbRecordBuilder: a row of an entity of IoTDB series turned back into the
// point (long layout) or the device row (wide) it was read from, for write-back.
#pragma once

#include <memory>

#include "map/record_builder.h"
#include "spec/spec.h"

namespace cutover::map {

// IotdbRecordBuilder design
//
// The inverse of the IoTDB reader's documents (stores/iotdb/iotdb_document.h)
// for entities that declare `write_back: true`. A row says where its point
// goes by its columns: the series from a "$series" column, else the device
// from "$device" or from the pattern filled with the capture columns, and
// the measurement from "$measurement", its capture or the pattern's last
// node; the time from "$epoch" as it is, or "$time" (timestamptz) in the
// source's precision, where a time finer than the precision is an error,
// never a point moved to another time. The document the IoTDB writer takes:
//   long  {"$series": [nodes], "$epoch": N, "$type": T,
//          "$value": v, "$numeric": v, "$integer": v, ...}
//   wide  {"$device": [nodes], "$epoch": N,
//          "$values": {m: v, ...}, "$types": {m: T, ...}}
// Every value column the row has is passed on (a NULL one left out); the
// writer takes the one that belongs to the series' type (the family's
// column before "$value", so an edited numeric_value wins over the jsonb
// copy beside it). T is the "$type" column's value, else the type the
// value's column suggests ("$numeric" DOUBLE, "$integer" INT64, "$text"
// TEXT, "$boolean" BOOLEAN, "$blob" BLOB, "$date" DATE, "$timestamp"
// TIMESTAMP; a "$value" by its JSON kind): it types a series only when
// IoTDB does not have it yet. Bytes are {"$bytes": hex}, a "$timestamp"
// column's value its epoch in the precision. The key is the point's
// spec::SeriesPointKey (a wide row's: its device's), as the reader names it.
std::unique_ptr<RecordBuilder> NewIotdbRecordBuilder(const spec::EntitySpec& entity);

}  // namespace cutover::map
