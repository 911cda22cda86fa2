// One PostgreSQL table as a store::Store: a snapshot reader that pages in key
// order (a killed read resumes at the next key) and a Writer over MergeWriter.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "store/store.h"
#include "stores/postgres/table_shape.h"

namespace cutover::pg_store {

// The table `shape` names, in the database at `url`, with the shape's columns
// read cast to their types (table_reader.h).
//
// Snapshot: one partition, id "<schema>.<table>"; each batch is one
// statement, `WHERE (key) > (last key read) ORDER BY key LIMIT n`, answered by
// the key's index, and the cursor holds the last key read and the count of
// rows before it. Batches are separate statements, not one MVCC snapshot: a
// row written during the read is seen or not depending on its key, which is
// what a change stream whose Head() was taken before the read (store.h)
// repairs. REQUIRES: the shape has a key (the table's primary key).
//
// Writer: upserts are merged by MergeWriter (staging table, INSERT ... ON
// CONFLICT, idempotent), deletes are DELETE by key; each Flush is one
// transaction. RecordKey parts are the key columns' values in PostgreSQL's
// text form.
//
// Each BatchReader opens its own connection; the writer keeps one. Ping
// connects and runs SELECT 1. Thread-safe as store.h says.
Result<std::unique_ptr<store::Store>> OpenTableStore(const std::string& url,
                                                     const TableShape& shape);

}  // namespace cutover::pg_store
