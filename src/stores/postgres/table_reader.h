// Streams a table's rows out of PostgreSQL by binary COPY, decoded into
// RowBatches with the same column types the mappers produce.
#pragma once

#include <functional>
#include <string_view>

#include "common/row_batch.h"
#include "common/status.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::pg_store {

// Each column is read cast to the spec's PostgreSQL type, so a varchar or
// timestamp column still decodes as text or timestamptz. numeric arrives
// binary and becomes the text PostgreSQL prints (scale kept: "1.50"), which
// saves the server its formatting; jsonb arrives as PostgreSQL's text.
// `on_batch` sees batches of up to `batch_rows` rows; memory stays bounded.
// `where`, when not empty, is a SQL condition on the table's own columns
// that selects the rows read (e.g. a list of keys, answered by the key index).
// `tail`, when not empty, follows the WHERE clause ("ORDER BY ... LIMIT n"),
// for a reader that pages through the table in key order.
// One value in PostgreSQL's binary send format (`len` bytes at `p`), as
// `type` decodes it, appended to `col` (binary COPY, pgoutput's binary mode).
Status DecodeBinaryField(ValueType type, const char* p, uint32_t len, Column* col,
                         std::string* scratch);

Status ScanTable(PgConnection* conn, const TableShape& shape, size_t batch_rows,
                 const std::function<Status(const RowBatch&)>& on_batch,
                 std::string_view where = {}, std::string_view tail = {});

}  // namespace cutover::pg_store
