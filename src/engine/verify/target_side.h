// PostgreSQL's side of verify: reads each table of the plan once per pass,
// in pass 2 only the rows whose key falls in a differing bucket.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "engine/verify/bucket_fold.h"
#include "engine/verify/verify_plan.h"

namespace cutover::engine::verify {

// Reads every table of `plan` from PostgreSQL at `url` into `sides` (one per
// table): pass 1 folds every row; pass 2 keeps the rows of
// plan->diff_buckets, found by key where the list is short.
Status ReadTarget(const std::string& url, const VerifyPlan& plan, bool second_pass,
                  std::vector<SideTable>* sides);

}  // namespace cutover::engine::verify
