// JsonText: string escapes, shortest floats, compact jsonb.
#include "common/json_text.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "common/utf8.h"

namespace cutover {

void AppendJsonString(std::string_view text, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
      case '\\':
        out->push_back('\\');
        out->push_back(ch);
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

void AppendJsonBytes(std::string_view bytes, std::string* out) {
  if (IsValidUtf8(bytes)) {
    AppendJsonString(bytes, out);
    return;
  }
  static const char kHex[] = "0123456789abcdef";
  out->append("{\"$bytes\":\"");
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
  out->append("\"}");
}

void AppendJsonDouble(double value, std::string* out) {
  // The shortest digits come from to_chars in scientific form, "d.ddde±x";
  // the notation is then chosen by the exponent, as Python's repr does.
  char buf[64];
  const auto [end, ec] =
      std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  const bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  const size_t e = sci.find('e');
  const int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
  std::string digits;
  for (const char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  if (negative) out->push_back('-');
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out->append("0.");
      out->append(static_cast<size_t>(-exponent - 1), '0');
      out->append(digits);
      return;
    }
    const size_t whole = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= whole) {
      out->append(digits);
      out->append(whole - digits.size(), '0');
      out->append(".0");
    } else {
      out->append(digits, 0, whole);
      out->push_back('.');
      out->append(digits, whole);
    }
    return;
  }
  out->push_back(digits[0]);
  if (digits.size() > 1) {
    out->push_back('.');
    out->append(digits, 1);
  }
  char exp[16];
  const int abs_exp = exponent < 0 ? -exponent : exponent;
  std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+', abs_exp);
  out->append(exp);
}

void AppendCompactJson(std::string_view json, std::string* out) {
  bool in_string = false;
  bool escaped = false;
  for (const char c : json) {
    if (in_string) {
      out->push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '"') in_string = true;
    out->push_back(c);
  }
}

}  // namespace cutover
