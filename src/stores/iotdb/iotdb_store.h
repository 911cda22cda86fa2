// IotdbStore: one entity's series (its series pattern) in IoTDB, read over
// the REST API device by device or from the export tool's CSV files.
#pragma once

#include <memory>

#include "common/status.h"
#include "spec/spec.h"
#include "store/store.h"

namespace cutover::iotdb_store {

// The store of `entity`'s series in `source` (type iotdb). Cheap: nothing
// is contacted or opened until a part is used. REQUIRES: entity.iotdb.
Result<std::unique_ptr<store::Store>> OpenIotdbStore(const spec::SourceSpec& source,
                                                     const spec::EntitySpec& entity);

// Whether `source` answers: /ping of its REST service, or its CSV files exist.
Status PingIotdb(const spec::SourceSpec& source);

}  // namespace cutover::iotdb_store
