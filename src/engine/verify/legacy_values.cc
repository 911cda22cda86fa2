// Legacy values: decimals reduced to digits and exponent, instants and
// dates parsed, so that one value has one comparable form.
#include "engine/verify/legacy_values.h"

#include <fmt/format.h>

#include <algorithm>

#include "map/value_parsers.h"

namespace cutover::engine {
namespace {

using Json = nlohmann::json;

// A JSON value as the text a legacy store holds: strings as they are, the
// rest as JSON prints them; nullopt for null.
std::optional<std::string> Text(const Json& v) {
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// The instant `text` names under `column`'s format, in microseconds.
std::optional<int64_t> Instant(const std::string& text, const spec::ColumnSpec& column) {
  Result<int64_t> at =
      column.time_format == spec::TimeFormat::kIso8601
          ? map::ParseTimestamptz(text, column.timezone.get())
          : map::TimestampFromEpochText(text, column.time_format == spec::TimeFormat::kEpochMillis);
  if (!at.ok()) return std::nullopt;
  return *at;
}

// The comparable form of `text` under `column`'s type; nullopt when it does
// not read as one (then only identical texts are equal).
std::optional<std::string> Canonical(const std::string& text, const spec::ColumnSpec& column) {
  switch (column.type) {
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kNumeric:
    case ValueType::kFloat64:
      return CanonicalDecimal(text);
    case ValueType::kBool: {
      const Result<bool> b = map::ParseBool(text);
      if (!b.ok()) return std::nullopt;
      return *b ? "true" : "false";
    }
    case ValueType::kTimestamptz: {
      const std::optional<int64_t> at = Instant(text, column);
      if (!at) return std::nullopt;
      return std::to_string(*at);
    }
    case ValueType::kDate: {
      const Result<int32_t> d = map::ParseDate(text);
      if (!d.ok()) return std::nullopt;
      return std::to_string(*d);
    }
    case ValueType::kUuid: {
      std::string lower = text;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return lower;
    }
    case ValueType::kJsonb: {
      const Json parsed = Json::parse(text, nullptr, false);
      if (parsed.is_discarded()) return std::nullopt;
      return parsed.dump();
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<std::string> CanonicalDecimal(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  std::string digits;
  int64_t exponent = 0;
  bool any = false, dot = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits += c;
      any = true;
      if (dot) --exponent;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    const Result<int64_t> e = map::ParseInt64(text.substr(i + 1));
    if (!e.ok()) return std::nullopt;
    exponent += *e;
    i = text.size();
  }
  if (i != text.size()) return std::nullopt;
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  digits.erase(0, first);
  while (digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  return fmt::format("{}{}e{}", negative ? "-" : "", digits, exponent);
}

bool SameLegacyValue(const Json& legacy, const Json& rebuilt, const spec::ColumnSpec& column) {
  const std::optional<std::string> a = Text(legacy);
  const std::optional<std::string> b = Text(rebuilt);
  if (!a || !b) return a.has_value() == b.has_value();
  if (*a == *b) return true;
  const std::optional<std::string> x = Canonical(*a, column), y = Canonical(*b, column);
  return x && y && *x == *y;
}

std::string CanonicalLegacyText(const Json& value, const spec::ColumnSpec& column) {
  const std::optional<std::string> text = Text(value);
  if (!text) return "\x01null";
  return Canonical(*text, column).value_or(*text);
}

Json AtPath(const Json& root, std::string_view path) {
  const Json* at = &root;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string part(path.substr(0, dot));
    if (!at->is_object() || !at->contains(part)) return nullptr;
    at = &(*at)[part];
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return *at;
}

}  // namespace cutover::engine
