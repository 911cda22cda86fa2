// Whether a backfill loads index-free ("bulk mode"), decided once
// per entity and followed by every process that joins the load.
#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/deferred_ddl.h"
#include "catalog/key_versions.h"
#include "catalog/partition_ledger.h"
#include "catalog/stage.h"
#include "catalog/sync_state.h"
#include "catalog/table_ddl.h"
#include "engine/backfill/partition_backfill.h"
#include "engine/core/post_load.h"
#include "engine/core/redis_key_sql.h"
#include "engine/core/source_dedup.h"
#include "engine/core/write_path.h"

namespace cutover::engine {

// Bulk mode: a first load into an empty table
//
// Maintaining a primary key, indexes and foreign keys row by row costs more
// than the COPY itself; building them once after the load is several times
// cheaper. So when a run starts fresh (no partition planned yet), the table is
// empty, the migration is still at stage legacy (no application writes into
// the target yet), and the source can drop its own repeated keys, the
// planning transaction sets the table's indexes and constraints aside
// (catalog/deferred_ddl.h) and the workers COPY straight into it.
//
// Without a key, exactly-once rests on the checkpoint transaction alone: a
// partition's rows commit with its cursor or not at all, so no row lands
// twice. Repeated keys within the source are removed before they reach
// PostgreSQL: the source skips every row that a later one with the same key
// supersedes (the same rule as `dedup:` and as verify's deduplicated read),
// and a partition's superseded rows count as read, not merged: the summary shows
// them apart, so that migrated is what the table holds. Once no partition is
// pending, the workers of every
// process share the rebuild; the entity is done after it.
//
// A process that joins, or a rerun after a crash, finds the set-aside
// definitions and continues in bulk mode; --restart first rebuilds them and
// then merges as usual.
//
// Bulk mode of a versioned store (Redis)
//
// Redis cannot drop its repeated keys beforehand: SCAN returns a key twice
// when the keyspace is resized between calls. The key claims do it instead:
// the load starts with no claim in the entity's scope and no other writer
// (no sync runs: catalog/sync_state.h; stage legacy: no gateway), so a key
// claimed before was claimed by this load, whose rows for it are written.
// The claims run first_only (catalog/key_versions.h): a repeat loses and
// lands nowhere, and it counts as read, not merged. Two keys that map to one
// row (two spellings of one number) meet at the key's rebuild, which keeps
// one, as a merge would. The claims keep their index: other scopes share
// it, and a sync after the load finds the keys it must re-check there.
//
// Claim-free. Claims cost the load more than the rows themselves (a B-tree
// insert of every key into an index other scopes share). An entity without
// child tables whose rows each hold their key as read (RedisKeySql: the
// table's key is the pattern's captures, as text, bytea or date) loads with none:
//   - A repeat lands a second row; the key's rebuild keeps the one written
//     by the latest transaction, which is the newer read: a master's batches
//     commit in the order they were read (deferred_ddl.h, "Repeated keys").
//   - No writer can be older than the load and miss a claim to lose to: a
//     sync starts reading the entity only after the load built its key, and
//     the gateway writes from stage dual_write on.
//   - A sync's reconciliation lists rows whose key no claim names, after
//     the scan that claims every key it reads: those are the rows of keys gone
//     since the load (catalog::UnclaimedKeys), and are re-read.
// Child tables would need their rows of a repeat told apart; they claim.

Result<bool> PartitionBackfill::MayBulkLoad() {
  // A partitioned table's key and indexes live on each partition, which
  // the loader attaches as rows need them: there is nothing to set aside.
  if (tables_[0].shape.partition) return false;
  // Planning and setting indexes aside commit together (PlanLedger), so a
  // planned entity with nothing deferred is loading with its indexes.
  ASSIGN_OR_RETURN(const int64_t planned,
                   catalog::CountPartitions(conn(), migration_.name, entity_.name));
  if (planned > 0) {
    ASSIGN_OR_RETURN(const int64_t deferred,
                     catalog::CountDeferred(conn(), migration_.name, entity_.name));
    if (deferred == 0) return false;  // else: join the bulk load under way
  } else {
    ASSIGN_OR_RETURN(const bool empty, TableIsEmpty(conn(), tables_[0].shape));
    if (!empty) return false;
    {
      ASSIGN_OR_RETURN(auto stage, catalog::CurrentStage(conn(), migration_.name));
      if (stage && *stage != "legacy") {
        spdlog::info(
            "{}: stage is {}: loading with the table's indexes in place (applications "
            "may already write to it)",
            entity_.name, *stage);
        return false;
      }
    }
  }
  if (!keys_unique_ && record_shape_ == store::RecordShape::kColumns) {
    spdlog::info("{}: {}; loading with the table's indexes in place", entity_.name,
                 keys_unique_why_not_);
  }
  // A bulk load COPYs straight into the table, which needs its exact types.
  return (keys_unique_ || claims_once_) && tables_[0].exact_types;
}

// Entities side by side
//
// An entity of a Redis source is read by one worker per master, which leaves
// the machine's other cores to a second entity's reads and writes (see
// backfill_command.cc). It may load beside others when nothing it writes is
// shared: no lookup fills a dimension table, and no foreign key joins its
// tables to another entity's.
Result<bool> PartitionBackfill::MayRunBeside() {
  if (!entity_.redis || request_.dry_run || !dimensions_.empty()) return false;
  std::vector<pg_store::TableShape> shapes;
  for (const Table& t : tables_) shapes.push_back(t.shape);
  bool linked = true;
  RETURN_IF_ERROR(Control("reading the foreign keys of " + entity_.name, [&]() -> Status {
    ASSIGN_OR_RETURN(linked, catalog::LinkedBeyond(conn(), shapes));
    return Status::Ok();
  }));
  return !linked;
}

Status PartitionBackfill::SkipSupersededRows() {
  if (entity_.redis && store_->snapshot().versioned()) {
    claims_once_ = true;
    claim_free_ = RedisKeySql(entity_, tables_[0].shape).has_value();
    child_key_aside_.assign(tables_.size(), false);
    for (size_t t = 1; t < tables_.size(); ++t) child_key_aside_[t] = ChildKeyMayWait(t);
    return Status::Ok();
  }
  const std::optional<SourceDedup> dedup = SourceDedupOf(entity_);
  if (!dedup) {
    keys_unique_why_not_ = "a key column is not read from a plain source column";
    return Status::Ok();
  }
  if (store_->dedup() == nullptr) {
    keys_unique_why_not_ = "the store cannot tell its superseded rows";
    return Status::Ok();
  }
  Status skip = store_->dedup()->SkipSupersededRows(dedup->key, dedup->order);
  keys_unique_ = skip.ok();
  if (skip.ok() || skip.code() == StatusCode::kFailedPrecondition ||
      skip.code() == StatusCode::kInvalidArgument) {
    keys_unique_why_not_ = skip.message();
    return Status::Ok();
  }
  return skip;
}

Status PartitionBackfill::DecideBulk(bool fresh, bool may_bulk) {
  if (!fresh) {
    // Another process (or an earlier run) decided; follow it.
    ASSIGN_OR_RETURN(const int64_t deferred,
                     catalog::CountDeferred(conn(), migration_.name, entity_.name));
    ASSIGN_OR_RETURN(const int64_t keys,
                     catalog::CountDeferredKeys(conn(), migration_.name, entity_.name));
    bulk_ = keys > 0;
    rebuild_deferred_ = deferred > 0;
    if (bulk_ && !may_bulk) {
      return FailedPrecondition(entity_.name +
                                ": a bulk load of this entity is under way, but this process "
                                "cannot skip the source's repeated keys as it does");
    }
    return Status::Ok();
  }
  if (!may_bulk) return DeferChildForeignKeys();
  if (claims_once_) {
    ASSIGN_OR_RETURN(const bool claimed,
                     catalog::HasKeyVersions(conn(), migration_.name, entity_.name));
    if (claimed) {
      spdlog::info(
          "{}: keys of it were written before (its claims remain): loading with the table's "
          "indexes in place",
          entity_.name);
      return DeferChildForeignKeys();
    }
    ASSIGN_OR_RETURN(const bool alone,
                     catalog::ExcludeSyncs(conn(), migration_.name, entity_.source));
    if (!alone) {
      spdlog::info(
          "{}: a cutover sync of {} is running: loading with the table's indexes in place, so "
          "that it keeps writing beside the load",
          entity_.name, entity_.source);
      return DeferChildForeignKeys();
    }
  }
  RETURN_IF_ERROR(conn()->Exec("SAVEPOINT cutover_defer"));
  // A child table's foreign key to the table would keep its key in place.
  int child_keys = 0;
  if (claims_once_) {
    for (size_t i = 1; i < tables_.size(); ++i) {
      ASSIGN_OR_RETURN(const int n, catalog::DeferForeignKeys(conn(), migration_.name, entity_.name,
                                                              tables_[i].shape, tables_[0].shape));
      child_keys += n;
    }
  }
  auto deferred =
      catalog::DeferTableIndexes(conn(), migration_.name, entity_.name, tables_[0].shape);
  if (!deferred.ok() && deferred.status().code() == StatusCode::kFailedPrecondition) {
    RETURN_IF_ERROR(conn()->Exec("ROLLBACK TO SAVEPOINT cutover_defer"));
    spdlog::info("{}; loading with the table's indexes in place", deferred.status().message());
    return DeferChildForeignKeys();
  }
  if (!deferred.ok()) return deferred.status();
  for (size_t t = 1; t < tables_.size(); ++t) {
    if (!child_key_aside_[t]) continue;
    auto child = catalog::DeferTableIndexes(conn(), migration_.name, entity_.name, tables_[t].shape,
                                            catalog::KeyRepeats::kRefused);
    if (child.ok()) {
      child_keys += *child;
      continue;
    }
    // Checked before anything changed: the child loads with its key in place.
    if (child.status().code() != StatusCode::kFailedPrecondition) return child.status();
    spdlog::info("{}; loading it with its key in place", child.status().message());
    child_key_aside_[t] = false;
  }
  RETURN_IF_ERROR(conn()->Exec("RELEASE SAVEPOINT cutover_defer"));
  // The spec's indexes are built with the others, in parallel, rather than
  // one after another once the load is done.
  for (const auto& index : entity_.indexes) {
    RETURN_IF_ERROR(
        catalog::DeferIndex(conn(), migration_.name, entity_.name, index.name,
                            catalog::CreateIndexSql(index, tables_[0].shape.QualifiedName(),
                                                    catalog::IfNotExists::kYes)));
  }
  bulk_ = true;
  rebuild_deferred_ = true;
  spdlog::info(
      "{}: empty table at stage legacy: loading it without its key, indexes and constraints "
      "({} definitions set aside), which are built after the load",
      entity_.name, *deferred + child_keys + static_cast<int>(entity_.indexes.size()));
  return Status::Ok();
}

// Child keys set aside
//
// A child table keeps its key through a bulk load unless no two records can
// give one child key, which holds when:
//   - claims let each source key through once (a repeat's claim loses, and
//     neither its parent row nor its children land);
//   - the parent's key is its pattern's captures as read, so two source keys
//     are two parent keys (CapturesAreTheKey);
//   - the child's key holds every column its parent's key fills, and the
//     child has no children of its own (their keys would reference it);
//   - the child's key columns compare by their bytes (no numeric, float,
//     jsonb or geometry: "1.50" and "1.5" are one number).
// Two items of one record may still repeat a key: the write path refuses the
// later row as the key would have (engine/core/write_path.h, "Repeated child
// keys"). The key is then built once, after the load, by a sort, instead of
// a B-tree descent per row. Its rebuild removes no repeats
// (catalog::KeyRepeats::kRefused): one there would be a fault, not data.
bool PartitionBackfill::ChildKeyMayWait(size_t t) const {
  const spec::EntitySpec& child = *tables_[t].entity;
  if (!claims_once_ || !child.children.empty() || !CapturesAreTheKey(entity_, tables_[0].shape)) {
    return false;
  }
  bool direct = false;
  for (const auto& c : entity_.children) direct = direct || &c == &child;
  if (!direct) return false;
  const pg_store::TableShape& shape = tables_[t].shape;
  if (!shape.unique_keys.empty()) return false;
  const auto in_key = [&](const std::string& column) {
    return std::find(shape.key.begin(), shape.key.end(), column) != shape.key.end();
  };
  for (const std::string& parent_key : tables_[0].shape.key) {
    bool held = false;
    for (const auto& [child_column, parent_column] : child.parent_columns) {
      held = held || (parent_column == parent_key && in_key(child_column));
    }
    if (!held) return false;
  }
  for (const std::string& column : shape.key) {
    const int i = shape.IndexOf(column);
    if (i < 0) return false;
    switch (shape.columns[i].type) {
      case ValueType::kNumeric:
      case ValueType::kFloat64:
      case ValueType::kJsonb:
      case ValueType::kGeometry:
        return false;
      default:
        break;
    }
  }
  return true;
}

// Child tables without their foreign keys
//
// A child row's foreign key makes PostgreSQL look its parent up and lock it,
// per row, which costs twice the row's own insert. The key holds without
// that check when three things are true:
//   - At stage legacy nothing but cutover writes these tables.
//   - cutover writes a key's parent row and its children in one transaction,
//     parent first, and refuses the children of a refused parent itself
//     (engine/core/write_path.h, "Orphans"); it deletes children before
//     their parent.
//   - Every write of a key is claimed by version (the store is versioned),
//     so a sync that deletes a key and a backfill that writes it take turns
//     on the key's claim instead of interleaving.
// Then the key is set aside like a bulk load's and validated once, with one
// join, after the load. Keys and indexes stay, so merges and a racing sync
// work as usual. Only the keys to the entity's own table are set aside: a
// key to another table names rows cutover does not write with these.
Status PartitionBackfill::DeferChildForeignKeys() {
  if (tables_.size() < 2 || !store_->snapshot().versioned()) return Status::Ok();
  ASSIGN_OR_RETURN(auto stage, catalog::CurrentStage(conn(), migration_.name));
  if (stage && *stage != "legacy") return Status::Ok();
  int saved = 0;
  for (size_t i = 1; i < tables_.size(); ++i) {
    ASSIGN_OR_RETURN(const int n, catalog::DeferForeignKeys(conn(), migration_.name, entity_.name,
                                                            tables_[i].shape, tables_[0].shape));
    saved += n;
  }
  if (saved == 0) return Status::Ok();
  rebuild_deferred_ = true;
  spdlog::info(
      "{}: stage legacy: loading its child tables without their {} foreign key{}, validated "
      "with one join each after the load",
      entity_.name, saved, saved == 1 ? "" : "s");
  return Status::Ok();
}

}  // namespace cutover::engine
