// The legacy store's side of verify: reads the source once per pass, maps it
// as the backfill did, and folds its rows (pass 1) or keeps those of
// differing buckets (pass 2).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "engine/verify/bucket_fold.h"
#include "engine/verify/repeated_keys.h"
#include "engine/verify/verify_plan.h"
#include "spec/spec.h"

namespace cutover::engine::verify {

// Sets plan->dedup_stream and dedup_key_sources when pass 1 may keep one row
// per source key (a chunked source, `dedup` with a key, plain source key
// columns); returns plan->dedup_stream.
bool PlanDedupStream(const spec::EntitySpec& entity, VerifyPlan* plan);

// Reads the source of plan->entity once into `sides` (one per table of the
// plan). Pass 1 folds every mapped row and, for a dedup stream, counts the
// rows left out in plan->superseded_rows (or clears plan->dedup_stream when
// the source cannot hash its keys); it adds the lookup names rows carry to
// `names`. Pass 2 keeps the rows of plan->diff_buckets. A chunked source is
// read on `jobs` threads; `url` resolves lookups (read-only), empty: none.
Status ReadSource(const spec::MigrationSpec& migration, const std::string& url, int jobs,
                  VerifyPlan* plan, bool second_pass, std::vector<SideTable>* sides,
                  DimensionNames* names);

}  // namespace cutover::engine::verify
