// Journaled states written back into the legacy store.
#include "gateway/legacy_secondary.h"

#include <map>

namespace cutover::gateway {

Status LegacySecondary::Apply(const JournalRecord& record) {
  return ApplyBatch({&record});
}

Status LegacySecondary::ApplyBatch(const std::vector<const JournalRecord*>& records) {
  std::map<std::string, std::vector<const JournalRecord*>> by_entity;
  for (const JournalRecord* r : records) by_entity[r->entity].push_back(r);
  for (const auto& [entity, states] : by_entity) {
    if (!legacy_->Has(entity)) {
      return FailedPrecondition("entity '" + entity + "' has no legacy writer in this gateway");
    }
    const LegacySessions::Lease session = legacy_->Borrow(entity);
    store::Writer* writer = session->writer;
    Status staged;
    for (const JournalRecord* r : states) {
      if (r->deleted) {
        staged = writer->Delete({r->key});
      } else {
        RowBatch row;
        row.AddColumn("$doc", ValueType::kJsonb);
        row.columns[0].AppendBytes(r->state);
        staged = writer->Upsert({r->key}, row, 0);
      }
      if (!staged.ok()) break;
    }
    if (staged.ok()) staged = writer->Flush();
    if (!staged.ok()) {
      writer->Discard();  // nothing stays staged for the next borrower
      return staged;
    }
  }
  return Status::Ok();
}

}  // namespace cutover::gateway
