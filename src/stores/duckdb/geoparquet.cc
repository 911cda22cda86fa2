// ParquetSource::GeometryReferenceSystems: the CRS of each geometry column
// named in a file's GeoParquet `geo` metadata, as an EPSG code when it has one.
#include <cctype>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stores/duckdb/parquet_source.h"

namespace cutover::duckdb_store {
namespace {

// GeoParquet's `crs` is PROJJSON; its `id` (or the first of `ids`) names the
// authority and code. Some writers put "EPSG:3857" as a string instead.
void ReadCrs(const nlohmann::json& column, store::GeometryCrs* out) {
  if (!column.is_object() || !column.contains("crs")) {
    out->srid = 4326;  // GeoParquet: absent means OGC:CRS84, lon/lat on WGS 84
    out->label = "OGC:CRS84 (no 'crs', GeoParquet's default)";
    return;
  }
  const nlohmann::json& crs = column["crs"];
  if (crs.is_null()) {
    out->label = "an undefined CRS (crs: null)";
    return;
  }
  std::string authority;
  std::string code;
  if (crs.is_string()) {
    const std::string text = crs.get<std::string>();
    const size_t colon = text.find(':');
    authority = text.substr(0, colon);
    code = colon == std::string::npos ? "" : text.substr(colon + 1);
  } else if (crs.is_object()) {
    const nlohmann::json* id = nullptr;
    if (crs.contains("id") && crs["id"].is_object()) {
      id = &crs["id"];
    } else if (crs.contains("ids") && crs["ids"].is_array() && !crs["ids"].empty()) {
      id = &crs["ids"][0];
    }
    if (id != nullptr && id->contains("authority") && (*id)["authority"].is_string()) {
      authority = (*id)["authority"].get<std::string>();
      const auto& c = (*id).contains("code") ? (*id)["code"] : nlohmann::json();
      if (c.is_number_integer()) code = std::to_string(c.get<int64_t>());
      if (c.is_string()) code = c.get<std::string>();
    }
  }
  for (char& ch : authority) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (authority == "EPSG" && !code.empty() &&
      code.find_first_not_of("0123456789") == std::string::npos && code.size() <= 6) {
    out->srid = std::stoi(code);
    out->label = "EPSG:" + code;
    return;
  }
  if (authority == "OGC" && (code == "CRS84" || code == "CRS:84")) {
    out->srid = 4326;
    out->label = "OGC:CRS84";
    return;
  }
  if (!authority.empty()) {
    out->label = authority + ":" + code + ", which has no EPSG code";
  } else if (crs.is_object() && crs.contains("name") && crs["name"].is_string()) {
    out->label = "'" + crs["name"].get<std::string>() + "', which has no EPSG id";
  } else {
    out->label = "a CRS without an EPSG id";
  }
}

}  // namespace

Result<std::vector<store::GeometryCrs>> ParquetSource::GeometryReferenceSystems() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<store::GeometryCrs> out;
  for (const std::string& file : files_) {
    ASSIGN_OR_RETURN(const TextRows rows,
                     session_->QueryText("SELECT decode(value) FROM parquet_kv_metadata(" +
                                             SqlLiteral(file) + ") WHERE decode(key) = 'geo'",
                                         "reading the GeoParquet metadata of " + file));
    if (rows.empty() || !rows[0][0]) continue;
    const auto geo = nlohmann::json::parse(*rows[0][0], nullptr, /*allow_exceptions=*/false);
    if (geo.is_discarded() || !geo.is_object() || !geo.contains("columns") ||
        !geo["columns"].is_object()) {
      return InvalidArgument(fmt::format(
          "{}: its GeoParquet metadata ('geo') is not a JSON object with 'columns'; the "
          "reference system of its geometry cannot be read",
          file));
    }
    for (const auto& [name, column] : geo["columns"].items()) {
      store::GeometryCrs crs;
      crs.file = file;
      crs.column = name;
      ReadCrs(column, &crs);
      out.push_back(std::move(crs));
    }
  }
  return out;
}

}  // namespace cutover::duckdb_store
