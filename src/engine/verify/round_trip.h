// `cutover verify --round-trip`: each PostgreSQL row turned back into its
// legacy record and compared with the record it came from, field by field.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::engine {

struct RoundTripRequest {
  std::vector<std::string> entities{};  // top-level entities; empty: every one with a source
  size_t batch_size = 1000;             // legacy records read, and rows looked up, at a time
  size_t max_listed_keys = 1000;        // differing keys named per entity
};

struct RoundTripEntity {
  std::string entity{};
  std::string not_checked{};  // why the entity could not be turned back; "" when it was
  int64_t legacy_records = 0;
  int64_t compared = 0;     // legacy records with a row, compared with the row rebuilt
  int64_t differing = 0;    // of those, the records the rebuilt one differs from
  int64_t without_row = 0;  // legacy records with no row (plain verify's "missing")
  int64_t unreadable = 0;   // legacy records of another type than the spec's (rejects)
  // Records of a key `dedup:` keeps another record of (their keep_last_by
  // values are not the row's): the row never came from them.
  int64_t superseded = 0;
  std::map<std::string, int64_t> differing_fields{};  // field -> records differing in it
  std::vector<std::string> keys{};                    // differing keys, the first listed
  std::set<std::string> dropped_fields{};  // legacy fields no column reads: left out on purpose
  // Fields absent (or null) in a record whose row holds the column's
  // default: filled in on purpose by the spec's `default:`.
  std::set<std::string> defaulted_fields{};
};

struct RoundTripReport {
  std::vector<RoundTripEntity> entities{};
  // Every entity was checked, something was compared, and nothing differs.
  bool clean() const;
};

// Round trip design
//
// Plain verify maps the legacy store with the backfill's mapper and compares
// the result with PostgreSQL, so a mapping bug both share (a rounded number,
// a lost field, a shifted time) is invisible to it. This check goes the
// other way: every legacy record is read, its row (with its children) found
// by key, the row turned back into a record by the builder the gateway and
// rollback write with (RecordBuilder for a Redis key, DocumentBuilder for a
// JSON record, ColumnarBuilder for a Parquet row), and the two compared
// field by field, by each column's type (engine/verify/legacy_values.h):
// numbers as exact decimals (1.50 equals 1.5; 3.14159265 does not equal
// 3.1416), times as instants, other values as text; a child's array element
// by element, matched by the child's key. Legacy fields that no column
// reads are listed as left out on purpose, and fields a record lacks whose
// row holds the column's `default:` as filled in on purpose; neither is
// reported. Only entities that declare write_back can be turned back; any
// other selected entity is reported as not checked, and the check is then
// not clean, since nothing proved it right. Of a key a source holds more
// than once, under `dedup:` the records whose keep_last_by values are not
// the row's are counted as superseded, not compared; without it every
// record is compared, and one the row did not come from differs if its
// values do. Absent, null and an empty array are one value for a child's
// array, and numbers compare as JSON parses them (doubles past 17 digits).
Result<RoundTripReport> RunRoundTrip(const spec::MigrationSpec& migration,
                                     const std::string& target_url,
                                     const RoundTripRequest& request);

nlohmann::json RoundTripReportJson(const RoundTripReport& report);
std::string FormatRoundTripReport(const RoundTripReport& report);

}  // namespace cutover::engine
