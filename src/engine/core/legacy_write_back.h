// LegacyWriteBack: PostgreSQL's current rows of a few keys written whole into
// the legacy store under the keys' locks; keys without a row deleted there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "map/record_builder.h"
#include "spec/spec.h"
#include "store/store.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// "k1", "k2" of the shape's key, quoted, each after `prefix`, joined by ", ".
std::string KeyColumnList(const pg_store::TableShape& shape, std::string_view prefix = {});

// The key values of `rows`' row `r` as SQL literals "l1, l2"; nullopt when
// one is missing or has no exact literal.
std::optional<std::string> KeyTupleLiteral(const RowBatch& rows, const pg_store::TableShape& shape,
                                           size_t r);

// `entity` reduced to its key columns (no children, no tag): its mapper
// turns legacy records into their rows' keys alone.
spec::EntitySpec KeysOnly(const spec::EntitySpec& entity);

// Of `tuples` (key values as KeyTupleLiteral gives them), the indexes of
// those `shape`'s table has no row for.
Result<std::vector<size_t>> KeysWithoutRows(pg_store::PgConnection* conn,
                                            const pg_store::TableShape& shape,
                                            const std::vector<std::string>& tuples);

// The legacy records of one batch whose key maps to a row key: their key
// values (KeyTupleLiteral) and their legacy keys ("" when the store names
// none), parallel; `scanned` counts every record of the batch.
struct LegacyKeyBatch {
  std::vector<std::string> tuples;
  std::vector<std::string> legacy_keys;
  size_t scanned = 0;
};

// Reads every record of `legacy`'s snapshot, `batch_size` at a time, and
// hands `on_batch` the keys they map to under `entity`'s key columns.
Status ScanLegacyKeys(const spec::MigrationSpec& migration, store::SnapshotReader& legacy,
                      const spec::EntitySpec& entity, const pg_store::TableShape& shape,
                      size_t batch_size,
                      const std::function<Status(const LegacyKeyBatch&)>& on_batch);

struct WriteBackCounts {
  int64_t written = 0;  // rows written back as legacy records
  int64_t deleted = 0;  // keys without a row, deleted from the legacy store
};

// LegacyWriteBack design
//
// Rollback and the way back both make a legacy key equal to PostgreSQL's
// row of it, while the gateway may be writing the same key. So a page of
// keys is handled in one PostgreSQL transaction: the keys' advisory locks
// (the ones every gateway write of a key takes first, catalog/key_locks.h)
// are taken, the rows read again under them, each written whole as
// RecordBuilder rebuilds it (a counter is set, never incremented), a key
// with no row deleted, and the locks released only after the legacy store
// took the page. A gateway write of a key thus reaches PostgreSQL either
// before the read (and this writes its state) or after this wrote (and its
// journal replay, in order per key, writes the newer state over this one).
// Writing a state twice is harmless, so a page killed half way is simply
// written again.
class LegacyWriteBack {
 public:
  // `failpoint_prefix` names the failpoints "<prefix>.before_legacy_flush"
  // and "<prefix>.after_legacy_flush" (the legacy store took the page, the
  // locks are still held).
  static Result<std::unique_ptr<LegacyWriteBack>> Open(const spec::MigrationSpec& migration,
                                                       const spec::EntitySpec& entity,
                                                       std::string failpoint_prefix);

  const pg_store::TableShape& shape() const { return shape_; }
  store::Store& legacy() { return *store_; }

  // Reads rows of the entity's table matching `where` (and `tail`: ORDER
  // BY, LIMIT) into one batch of at most `limit`.
  Status Read(pg_store::PgConnection* conn, std::string_view where, std::string_view tail,
              size_t limit, RowBatch* rows) const;

  // The rows `rows` name (at least their key columns are set) made current
  // in the legacy store, in one transaction of `conn` (see the design).
  Result<WriteBackCounts> WriteKeys(pg_store::PgConnection* conn, const RowBatch& rows);

  // Writes `rows`' rows `upserts` whole and deletes the keys of rows
  // `deletes` (only their key columns need be set), as they are: for
  // changes that carry their values, in commit order. Reads nothing from
  // PostgreSQL and takes no lock.
  Result<WriteBackCounts> WriteRows(const RowBatch& rows, const std::vector<size_t>& upserts,
                                    const std::vector<size_t>& deletes);

  // Deletes `keys` (legacy keys, parallel to `tuples`, their key values as
  // KeyTupleLiteral gives them) that still have no row once their locks are
  // held. Returns how many were deleted.
  Result<int64_t> DeleteKeysWithoutRows(pg_store::PgConnection* conn,
                                        const std::vector<std::string>& tuples,
                                        const std::vector<std::string>& keys);

  // Of `tuples`, the indexes of those PostgreSQL has no row for.
  Result<std::vector<size_t>> Missing(pg_store::PgConnection* conn,
                                      const std::vector<std::string>& tuples) const;

 private:
  LegacyWriteBack(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                  std::string failpoint_prefix);
  // Stages row `r` of `rows` as the record at `key`.
  Status Stage(const RowBatch& rows, size_t r, const std::string& key);
  // Sends what was staged when `staged` is ok, else drops it; the
  // failpoints sit on either side of the send.
  Status Flush(Status staged);

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const std::string before_flush_, after_flush_;
  pg_store::TableShape shape_;
  std::unique_ptr<map::RecordBuilder> builder_;
  std::unique_ptr<store::Store> store_;
  store::Writer* writer_ = nullptr;
};

}  // namespace cutover::engine
