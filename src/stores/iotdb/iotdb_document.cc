// IoTDB points as JSON documents (see "IotdbDocument design" in the header).
#include "stores/iotdb/iotdb_document.h"

#include <charconv>

#include "common/json_text.h"

namespace cutover::iotdb_store {
namespace {

void AppendMember(std::string_view name, std::string* out) {
  out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
}

void AppendHexBytes(std::string_view bytes, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->append("{\"$bytes\":\"");
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
  out->append("\"}");
}

bool IsNonFinite(std::string_view text) {
  return text == "NaN" || text == "Infinity" || text == "-Infinity";
}

// The value in its natural JSON form (see the design note); a BLOB as
// {"$bytes": hex}, or as IoTDB's own "0x<hex>" text when `blob_as_text`.
void AppendValue(const IotdbValue& v, TimePrecision precision, std::string* out,
                 bool blob_as_text = false) {
  switch (v.type) {
    case IotdbType::kBoolean:
    case IotdbType::kInt32:
    case IotdbType::kInt64:
    case IotdbType::kTimestamp:
      out->append(v.text);
      return;
    case IotdbType::kFloat:
    case IotdbType::kDouble:
      if (IsNonFinite(v.text)) {
        AppendJsonString(v.text, out);
      } else {
        out->append(v.text);
      }
      return;
    case IotdbType::kText:
    case IotdbType::kString:
      AppendJsonBytes(v.text, out);
      return;
    case IotdbType::kBlob:
      if (blob_as_text) {
        std::string hex;
        AppendHexBytes(v.text, &hex);
        // {"$bytes":"<hex>"} -> "0x<hex>"
        AppendJsonString("0x" + hex.substr(11, hex.size() - 13), out);
      } else {
        AppendHexBytes(v.text, out);
      }
      return;
    case IotdbType::kDate:
      AppendJsonString(v.text, out);
      return;
  }
  (void)precision;
}

// The value once more under its family's name.
void AppendFamily(const IotdbValue& v, TimePrecision precision, std::string* out) {
  switch (v.type) {
    case IotdbType::kBoolean:
      AppendMember("$boolean", out);
      break;
    case IotdbType::kInt32:
    case IotdbType::kInt64:
      AppendMember("$numeric", out);
      AppendValue(v, precision, out);
      AppendMember("$integer", out);
      break;
    case IotdbType::kFloat:
    case IotdbType::kDouble:
      AppendMember("$numeric", out);
      break;
    case IotdbType::kText:
    case IotdbType::kString:
      AppendMember("$text", out);
      break;
    case IotdbType::kBlob:
      AppendMember("$blob", out);
      break;
    case IotdbType::kDate:
      AppendMember("$date", out);
      break;
    case IotdbType::kTimestamp: {
      AppendMember("$integer", out);
      AppendValue(v, precision, out);
      AppendMember("$timestamp", out);
      int64_t epoch = 0;
      std::from_chars(v.text.data(), v.text.data() + v.text.size(), epoch);
      AppendJsonString(IsoTime(epoch, precision), out);
      return;
    }
  }
  AppendValue(v, precision, out);
}

void AppendTime(int64_t epoch, TimePrecision precision, std::string* out) {
  AppendMember("$time", out);
  AppendJsonString(IsoTime(epoch, precision), out);
  AppendMember("$epoch", out);
  out->append(std::to_string(epoch));
}

void AppendCaptures(const std::vector<std::string>& names, const std::vector<std::string>& values,
                    std::string* out) {
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    AppendMember(names[i], out);
    AppendJsonBytes(values[i], out);
  }
}

// A long record's members up to its time, the object left open.
void AppendPointHead(const spec::EntitySpec& entity, const SeriesMatch& series, int64_t epoch,
                     TimePrecision precision, std::string* out) {
  out->append("{\"$device\":");
  AppendJsonBytes(series.device, out);
  AppendCaptures(entity.iotdb->pattern.captures(), series.captures, out);
  AppendMember("$measurement", out);
  AppendJsonBytes(series.measurement, out);
  AppendMember("$series", out);
  AppendJsonBytes(series.device + "." + spec::QuoteSeriesNode(series.measurement), out);
  AppendTime(epoch, precision, out);
}

}  // namespace

void AppendPointKeyDocument(const spec::EntitySpec& entity, const SeriesMatch& series,
                            int64_t epoch, TimePrecision precision, std::string* out) {
  AppendPointHead(entity, series, epoch, precision, out);
  out->push_back('}');
}

void AppendPointDocument(const spec::EntitySpec& entity, const SeriesMatch& series, int64_t epoch,
                         TimePrecision precision, const IotdbValue& value, std::string* out) {
  AppendPointHead(entity, series, epoch, precision, out);
  AppendMember("$type", out);
  AppendJsonString(IotdbTypeName(value.type), out);
  AppendMember("$value", out);
  AppendValue(value, precision, out, /*blob_as_text=*/true);
  AppendFamily(value, precision, out);
  out->push_back('}');
}

void AppendDeviceRowDocument(const spec::EntitySpec& entity, std::string_view device,
                             const std::vector<std::string>& device_captures, int64_t epoch,
                             TimePrecision precision,
                             const std::vector<std::pair<std::string, IotdbValue>>& values,
                             std::string* out) {
  out->append("{\"$device\":");
  AppendJsonBytes(device, out);
  AppendCaptures(entity.iotdb->pattern.captures(), device_captures, out);
  AppendTime(epoch, precision, out);
  out->append(",\"$values\":{");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(values[i].first, out);
    out->push_back(':');
    AppendValue(values[i].second, precision, out);
  }
  out->append("}}");
}

void AppendErrorDocument(std::string_view reason, std::string_view raw, std::string* out) {
  out->append("{\"$error\":");
  AppendJsonString(reason, out);
  AppendMember("$raw", out);
  AppendJsonBytes(raw, out);
  out->push_back('}');
}

}  // namespace cutover::iotdb_store
