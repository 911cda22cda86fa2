// A Redis entity's key rebuilt by SQL from its row, for finding the rows whose
// key no claim names (a bulk load writes none: engine/backfill/bulk_load.cc).
#pragma once

#include <optional>
#include <string>

#include "spec/spec.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// A bytea expression over the columns of `shape`'s table that gives each
// row's Redis key, byte for byte: the pattern's literals around its captures.
// Only when the row holds each capture as it was (a text or bytea column, or
// a date, which a capture is read into only as YYYY-MM-DD), the table's key is
// exactly those columns, so that a row is one key, and the entity has no
// child tables; nullopt otherwise (a capture read as a number has lost its
// spelling, 007 and 7; a bulk load of children claims every key, so no row of
// it needs finding this way).
std::optional<std::string> RedisKeySql(const spec::EntitySpec& entity,
                                       const pg_store::TableShape& shape);

// True when `shape`'s table key is exactly the pattern's captures, each held
// as read (a text, bytea or date column): then two source keys never share a
// row, children aside.
bool CapturesAreTheKey(const spec::EntitySpec& entity, const pg_store::TableShape& shape);

}  // namespace cutover::engine
