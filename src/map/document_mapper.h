// Turns source records into typed rows for one top-level entity and its
// nested children, following the spec; records that cannot be stored become rejects.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "map/record_mapper.h"
#include "spec/spec.h"

namespace cutover::map {

// Maps JSON documents (the "$doc" column of a document source); its sibling
// for typed columns (Parquet, CSV) is ColumnarMapper.
class DocumentMapper : public RecordMapper {
 public:
  ~DocumentMapper() override;
  // Compiles the entity's column plan; fails (with the spec location) when a
  // default cannot be converted or a parent link's types do not match.
  static Result<std::unique_ptr<DocumentMapper>> Create(const spec::EntitySpec& entity);

  const std::vector<const spec::EntitySpec*>& tables() const override;
  int ParentOf(size_t table) const override;
  void Map(const store::StoreBatch& in, MappedBatch* out) override;
  // The document as read.
  std::string RecordText(const store::StoreBatch& in, size_t record) const override;

 private:
  struct Impl;
  explicit DocumentMapper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cutover::map
