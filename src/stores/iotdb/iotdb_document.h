// IoTDB points as JSON documents for the document mapper: one per point
// (layout long) or one per device and time (layout wide).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spec/spec.h"
#include "stores/iotdb/iotdb_types.h"

namespace cutover::iotdb_store {

// IotdbDocument design
//
// A long record is one point:
//   {<captures>, "$device", "$measurement", "$series", "$time", "$epoch",
//    "$type", "$value", and the value once more under its family's name}
// "$time" is ISO 8601 in UTC with the precision's fraction digits (for a
// timestamptz column), "$epoch" the integer in the precision's units (exact
// at any precision, for a bigint). "$value" is the value in its natural JSON
// form (a BLOB as IoTDB spells it, "0x<hex>", so that a jsonb or text column
// of every point's value takes BLOBs too; "$blob" holds its bytes); the
// family members let one long table keep each type in a column
// of its own, as the runbook's numeric/text/boolean columns do:
//   "$numeric"   INT32, INT64, FLOAT, DOUBLE (NaN, Infinity as strings)
//   "$integer"   INT32, INT64, TIMESTAMP (exact: the digits, never a double)
//   "$text"      TEXT, STRING        "$boolean"  BOOLEAN
//   "$blob"      BLOB, as {"$bytes": hex}   "$date"  DATE, "yyyy-mm-dd"
//   "$timestamp" TIMESTAMP, as ISO 8601 like "$time"
// Text that is not UTF-8 is {"$bytes": hex}, which only a bytea column
// takes. A wide record is one device at one time: the captures of the
// device's nodes, "$device", "$time", "$epoch", and "$values" with a member
// per measurement that has a point then (a null cell is no member).
// A record the store cannot read is {"$error": reason, "$raw": text}, which
// the mapper rejects with its reason.

// The series of one device a reader came across, with the captures its path
// gave (the measurement's capture last, when the pattern ends in one).
struct SeriesMatch {
  std::string device;       // the device path as IoTDB writes it
  std::string measurement;  // the measurement's name, without backquotes
  std::vector<std::string> captures;
};

void AppendPointDocument(const spec::EntitySpec& entity, const SeriesMatch& series, int64_t epoch,
                         TimePrecision precision, const IotdbValue& value, std::string* out);

// A long record of the point's key alone (no $type, $value or family):
// what the mapper needs to find the row of a point that is gone.
void AppendPointKeyDocument(const spec::EntitySpec& entity, const SeriesMatch& series,
                            int64_t epoch, TimePrecision precision, std::string* out);

void AppendDeviceRowDocument(const spec::EntitySpec& entity, std::string_view device,
                             const std::vector<std::string>& device_captures, int64_t epoch,
                             TimePrecision precision,
                             const std::vector<std::pair<std::string, IotdbValue>>& values,
                             std::string* out);

void AppendErrorDocument(std::string_view reason, std::string_view raw, std::string* out);

}  // namespace cutover::iotdb_store
