// LegacySecondary: the legacy store as the one that follows PostgreSQL (from
// `primary` on): a journaled state written back whole through its writer.
#pragma once

#include "gateway/legacy_sessions.h"
#include "gateway/replayer.h"

namespace cutover::gateway {

// A state replaces the key whole (store::Writer::Upsert: for Redis one
// MULTI/EXEC of DEL, the value and its expiry), a deletion deletes it, so a
// replay applied twice, or after a newer one, leaves the key as the newest
// replay does (the replayer applies each key's states in order). A batch is
// staged and flushed together (Redis pipelines it per master). Thread-safe:
// each call borrows a session of the entity.
class LegacySecondary : public SecondaryStore {
 public:
  explicit LegacySecondary(LegacySessions* legacy) : legacy_(legacy) {}

  Status Apply(const JournalRecord& record) override;
  Status ApplyBatch(const std::vector<const JournalRecord*>& records) override;

 private:
  LegacySessions* const legacy_;
};

}  // namespace cutover::gateway
