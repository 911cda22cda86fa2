// SeriesTypes: the types of a device's series, learned from IoTDB once per
// device, for a writer and a key reader that meet a device by its points.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "stores/iotdb/iotdb_rest.h"
#include "stores/iotdb/iotdb_types.h"

namespace cutover::iotdb_store {

// Not thread-safe: one per writer or reader.
class SeriesTypes {
 public:
  SeriesTypes(IotdbRest* rest, int64_t row_limit) : rest_(rest), row_limit_(row_limit) {}

  using ByMeasurement = std::map<std::string, IotdbType>;

  // The series IoTDB has under `device` (a path as JoinSeriesPath writes
  // it), by measurement name: listed with SHOW TIMESERIES <device>.* the
  // first time, remembered after.
  Result<const ByMeasurement*> Of(const std::string& device);

  // Of(device) listed anew: for a series another writer may have created
  // since (a reader that does not find one must not call its point gone).
  Result<const ByMeasurement*> Fresh(const std::string& device);

  // Records that `device`.`measurement` now exists with `type` (a write
  // created it).
  void Learn(const std::string& device, const std::string& measurement, IotdbType type);

 private:
  IotdbRest* rest_;
  const int64_t row_limit_;
  std::map<std::string, ByMeasurement> devices_;
};

}  // namespace cutover::iotdb_store
