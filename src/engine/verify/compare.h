// Pass 2's verdict: the rows of differing buckets compared key by key, and a
// lookup dimension compared as the set of names its facts carry.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/verify/bucket_fold.h"
#include "engine/verify/repeated_keys.h"
#include "engine/verify/verify_report.h"
#include "spec/spec.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine::verify {

struct CompareOptions {
  double float_tolerance = 0;  // relative; 0: floats compare exactly
  bool detailed = false;       // name the differing columns of changed keys
  size_t max_listed_keys = 1000;
};

// True when `a` and `b` differ by at most `tolerance` relative to the larger
// magnitude; NaN equals only NaN, an infinity only itself.
bool WithinTolerance(double a, double b, double tolerance);

// Adds to `v` the missing, extra and changed keys among the rows of one
// round of pass 2 (`src` and `dst` rows_in_diff), and the source's repeats.
void CompareRows(const pg_store::TableShape& shape, const SideTable& src, const SideTable& dst,
                 const CompareOptions& options, TableVerdict* v);

// A dimension that lookups fill holds exactly the names the facts' source
// rows carry: compared as sets (names are its unique `match`). Nullopt when
// no fact entity naming it was verified in this run.
Result<std::optional<TableVerdict>> VerifyDimension(const spec::MigrationSpec& migration,
                                                    const std::string& url,
                                                    const spec::EntitySpec& dimension,
                                                    const DimensionNames& names,
                                                    const CompareOptions& options);

}  // namespace cutover::engine::verify
