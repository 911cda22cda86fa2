// RecordBuilder: turns a row of an entity's table back into the legacy record
// it came from (a Redis key's document, an IoTDB point), so a writer can put it back.
#pragma once

#include <memory>
#include <string>

#include "common/row_batch.h"
#include "common/status.h"
#include "spec/spec.h"

namespace cutover::map {

// RecordBuilder design
//
// The inverse of DocumentMapper for entities that declare `write_back: true`
// (the loader has checked spec::InvertibilityProblem). For an entity of
// IoTDB series see iotdb_record_builder.h; for a Redis key each column goes back
// where it was read from. A capture column gives the key's capture, "$value"
// the whole value, "$value.a.b" a field of a JSON value or a hash field,
// "$expires_at" the absolute expiry; "$tag", "$type" and "$key" columns are
// cutover's and go nowhere. The result has the store's document layout
// (spec::RedisKeySpec), "$key" rebuilt from the captures, which the Redis
// writer turns into commands. A capture whose value would make a key the
// pattern splits differently (a capture holding the next literal) is an
// error, never a key that reads back as another row.
//
// Values keep their JSON types (numbers, booleans, strings; bytea as
// {"$bytes": hex}); a writer of a hash or a string turns them into Redis
// strings. Not thread-safe: one builder per thread.
class RecordBuilder {
 public:
  virtual ~RecordBuilder() = default;

  // FailedPrecondition naming the reason when `entity` is not invertible.
  static Result<std::unique_ptr<RecordBuilder>> Create(const spec::EntitySpec& entity);

  // The record of `rows`' row `row`, whose columns are named as the entity's
  // (any order; other columns ignored). DataError when it cannot be built.
  virtual Result<std::string> Build(const RowBatch& rows, size_t row) const = 0;

  // The key the row's record lives at.
  virtual Result<std::string> Key(const RowBatch& rows, size_t row) const = 0;
};

}  // namespace cutover::map
