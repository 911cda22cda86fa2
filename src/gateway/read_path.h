// ReadPath: one client read through the gateway, from the store the stage and
// the key's rollout bucket choose, shadowed or falling back as they say.
#pragma once

#include <random>
#include <string>

#include "common/status.h"
#include "control/read_router.h"
#include "control/stage.h"
#include "gateway/journal.h"
#include "gateway/legacy_sessions.h"
#include "gateway/postgres_reader.h"
#include "gateway/read_tally.h"
#include "gateway/shadow_comparer.h"

namespace cutover::gateway {

struct ReadOutcome {
  control::Store served_by = control::Store::kLegacy;
  bool found = false;
  std::string document;         // the record in the legacy store's layout; "" when not found
  bool shadowed = false;        // queued for a comparison with PostgreSQL
  bool fell_back = false;       // PostgreSQL failed and legacy answered
  std::string fallback_reason;  // why, when fell_back (no row data, no secret)
  // Seconds each store took to answer, -1 when not asked.
  double legacy_seconds = -1;
  double postgres_seconds = -1;
};

// ReadPath design
//
// The store is control::RouteRead's: legacy before rollout; in rollout a
// key's bucket decides; PostgreSQL from primary on. Two rules refine it:
//   - read your writes: while legacy is primary, a key the local journal
//     still owes to PostgreSQL is read from legacy, which already holds the
//     acknowledged write PostgreSQL has yet to get;
//   - fall back: where the stage allows (rollout always, primary when
//     stages.primary_fallback), a PostgreSQL read that fails or outlasts
//     stages.read_timeout is answered from legacy and counted; without the
//     fallback the client gets the error.
// A legacy answer in shadow, or in rollout for a key still on legacy, is
// handed to the ShadowComparer for a share of reads (stages.shadow_sample),
// after the answer is made: the comparison never delays it. Records come
// back from PostgreSQL only for write_back entities, whose rows turn back
// into the legacy record; another entity read from PostgreSQL is refused
// (kFailedPrecondition) rather than answered in a shape the client does not
// know. Thread-safe.
class ReadPath {
 public:
  struct Options {
    double shadow_sample = 1.0;
    bool primary_fallback = true;
  };

  // Every pointer must outlive the ReadPath.
  ReadPath(LegacySessions* legacy, PostgresReader* postgres, ShadowComparer* shadow,
           const Journal* journal, ReadTally* tally, Options options);

  Result<ReadOutcome> Get(const control::StageState& stage, const std::string& entity,
                          const std::string& key);

 private:
  Status ReadLegacy(const std::string& entity, const std::string& key, ReadOutcome* out,
                    store::StoreBatch* read);
  bool Sampled();

  LegacySessions* const legacy_;
  PostgresReader* const postgres_;
  ShadowComparer* const shadow_;
  const Journal* const journal_;
  ReadTally* const tally_;
  const Options options_;
};

}  // namespace cutover::gateway
