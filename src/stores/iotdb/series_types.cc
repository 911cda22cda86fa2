// SeriesTypes: SHOW TIMESERIES once per device, remembered.
#include "stores/iotdb/series_types.h"

#include "spec/series_pattern.h"

namespace cutover::iotdb_store {

Result<const SeriesTypes::ByMeasurement*> SeriesTypes::Of(const std::string& device) {
  auto it = devices_.find(device);
  if (it != devices_.end()) return &it->second;
  ByMeasurement types;
  Status listed =
      ListSeries(*rest_, device + ".*", row_limit_,
                 [&](const std::string& path, const std::string& type_name) {
                   const auto nodes = spec::SplitSeriesPath(path);
                   if (!nodes) return Status::Ok();
                   ASSIGN_OR_RETURN(const IotdbType type, SeriesType(*rest_, path, type_name));
                   types[nodes->back()] = type;
                   return Status::Ok();
                 });
  if (!listed.ok()) return listed.WithContext("learning the types of " + device + "'s series");
  return &devices_.emplace(device, std::move(types)).first->second;
}

Result<const SeriesTypes::ByMeasurement*> SeriesTypes::Fresh(const std::string& device) {
  devices_.erase(device);
  return Of(device);
}

void SeriesTypes::Learn(const std::string& device, const std::string& measurement, IotdbType type) {
  devices_[device].emplace(measurement, type);
}

}  // namespace cutover::iotdb_store
