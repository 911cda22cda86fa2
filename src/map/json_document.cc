// One JSON record parsed strictly into values that keep their exact text; a
// recursive descent over the record, with simdjson checking the UTF-8.
#include "map/json_document.h"

#include <algorithm>
#include <bit>
#include <iterator>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cutover::map {
namespace {

inline bool IsWs(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The four hex digits at `p`, or -1.
int32_t Hex4(const char* p) {
  int32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    const int h = HexDigit(p[i]);
    if (h < 0) return -1;
    v = v << 4 | h;
  }
  return v;
}

// The first byte in [p, end) that a string scan must look at: a quote, a
// backslash or a control character; end if none. Strings are most of a
// record's bytes, so this runs 16 bytes at a time where SSE2 is available.
const char* FindStringStop(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i max_control = _mm_set1_epi8(0x1F);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Unsigned v <= 0x1F exactly when max(v, 0x1F) == 0x1F.
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, max_control), max_control);
    const __m128i hit =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), control);
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const auto b = static_cast<unsigned char>(*p);
    if (b == '"' || b == '\\' || b < 0x20) return p;
  }
  return end;
}

// Decodes the body of a string the parser already validated.
void DecodeValidated(std::string_view body, std::string* out) {
  out->clear();
  for (size_t i = 0; i < body.size();) {
    const size_t slash = body.find('\\', i);
    if (slash == std::string_view::npos) {
      out->append(body.substr(i));
      break;
    }
    out->append(body.substr(i, slash - i));
    const char c = body[slash + 1];
    i = slash + 2;
    switch (c) {
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        uint32_t cp = static_cast<uint32_t>(Hex4(body.data() + i));
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // validated: a low surrogate follows
          const auto low = static_cast<uint32_t>(Hex4(body.data() + i + 2));
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        out->push_back(c);  // \" \\ \/
        break;
    }
  }
}

}  // namespace

std::string_view JsonDocument::KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kTrue:
    case Kind::kFalse:
      return "boolean";
    case Kind::kNumber:
      return "number";
    case Kind::kString:
      return "string";
    case Kind::kArray:
      return "array";
    case Kind::kObject:
      return "object";
  }
  return "value";
}

Status JsonDocument::Fail(size_t at, std::string_view what) const {
  return DataError(fmt::format("malformed JSON at byte {}: {}", at, what));
}

Status JsonDocument::Parse(std::string_view text) {
  text_ = text;
  pos_ = 0;
  values_.clear();
  has_repeated_key_ = false;
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    return DataError("invalid UTF-8 in record");
  }
  RETURN_IF_ERROR(ParseValue(0));
  while (pos_ < text_.size() && IsWs(text_[pos_])) ++pos_;
  if (pos_ != text_.size()) return Fail(pos_, "more data after the value");
  return Status::Ok();
}

Status JsonDocument::ParseValue(int depth) {
  while (pos_ < text_.size() && IsWs(text_[pos_])) ++pos_;
  if (pos_ == text_.size()) return Fail(pos_, "expected a value, found the end of the record");
  if (depth >= kMaxDepth) {
    return Fail(pos_, fmt::format("nested deeper than {} levels", kMaxDepth));
  }
  const size_t index = values_.size();
  values_.emplace_back();
  values_[index].begin = pos_;
  const char c = text_[pos_];
  switch (c) {
    case '{':
    case '[': {
      const bool object = c == '{';
      const char closer = object ? '}' : ']';
      values_[index].kind = object ? Kind::kObject : Kind::kArray;
      ++pos_;
      bool first = true;
      for (;;) {
        while (pos_ < text_.size() && IsWs(text_[pos_])) ++pos_;
        if (pos_ == text_.size()) {
          return Fail(pos_, fmt::format("the record ends before the closing '{}'", closer));
        }
        if (text_[pos_] == closer && first) {
          ++pos_;
          break;
        }
        if (object) {
          if (text_[pos_] != '"') return Fail(pos_, "expected a quoted key");
          values_.emplace_back();
          values_.back().begin = pos_;
          RETURN_IF_ERROR(ParseString(&values_.back()));
          values_.back().next = values_.size();
          while (pos_ < text_.size() && IsWs(text_[pos_])) ++pos_;
          if (pos_ == text_.size() || text_[pos_] != ':') {
            return Fail(pos_, "expected ':' after the key");
          }
          ++pos_;
        }
        RETURN_IF_ERROR(ParseValue(depth + 1));
        first = false;
        while (pos_ < text_.size() && IsWs(text_[pos_])) ++pos_;
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == closer) {
          ++pos_;
          break;
        }
        return Fail(pos_, fmt::format("expected ',' or '{}'", closer));
      }
      values_[index].end = pos_;
      values_[index].next = values_.size();
      if (object) CheckRepeatedKeys(index);
      return Status::Ok();
    }
    case '"': {
      Value v;
      v.begin = pos_;
      RETURN_IF_ERROR(ParseString(&v));
      v.next = values_.size();
      values_[index] = v;
      return Status::Ok();
    }
    case 't':
    case 'f':
    case 'n': {
      const std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : "null";
      if (text_.substr(pos_, word.size()) != word) {
        return Fail(pos_, fmt::format("unknown literal; expected '{}'", word));
      }
      pos_ += word.size();
      values_[index].kind = c == 't' ? Kind::kTrue : c == 'f' ? Kind::kFalse : Kind::kNull;
      break;
    }
    default:
      if (c != '-' && !IsDigit(c)) return Fail(pos_, "expected a value");
      RETURN_IF_ERROR(ParseNumber());
      values_[index].kind = Kind::kNumber;
      break;
  }
  values_[index].end = pos_;
  values_[index].next = values_.size();
  return Status::Ok();
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, with any number of digits.
Status JsonDocument::ParseNumber() {
  const size_t start = pos_;
  const auto digits = [&] {
    const size_t from = pos_;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    return pos_ - from;
  };
  if (text_[pos_] == '-') ++pos_;
  const size_t int_start = pos_;
  const size_t int_digits = digits();
  if (int_digits == 0) return Fail(pos_, "a number needs digits after '-'");
  if (int_digits > 1 && text_[int_start] == '0') return Fail(start, "a number has a leading zero");
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    if (digits() == 0) return Fail(pos_, "a number needs digits after '.'");
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (digits() == 0) return Fail(pos_, "a number needs digits in its exponent");
  }
  return Status::Ok();
}

Status JsonDocument::ParseString(Value* v) {
  v->kind = Kind::kString;
  v->escaped = false;
  ++pos_;  // the opening quote
  for (;;) {
    pos_ = static_cast<size_t>(FindStringStop(text_.data() + pos_, text_.data() + text_.size()) -
                               text_.data());
    if (pos_ == text_.size()) return Fail(v->begin, "the string never ends");
    const auto b = static_cast<unsigned char>(text_[pos_]);
    if (b == '"') {
      ++pos_;
      v->end = pos_;
      return Status::Ok();
    }
    if (b < 0x20) {
      return Fail(pos_, fmt::format("control character 0x{:02x} inside a string must be escaped",
                                    static_cast<int>(b)));
    }
    v->escaped = true;
    if (pos_ + 1 >= text_.size()) return Fail(v->begin, "the string never ends");
    const char e = text_[pos_ + 1];
    if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
        e == 't') {
      pos_ += 2;
      continue;
    }
    if (e != 'u') return Fail(pos_, fmt::format("invalid escape '\\{}'", e));
    if (pos_ + 6 > text_.size() || Hex4(text_.data() + pos_ + 2) < 0) {
      return Fail(pos_, "\\u needs four hex digits");
    }
    const int32_t cp = Hex4(text_.data() + pos_ + 2);
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return Fail(pos_, "a low surrogate \\u escape must follow a high surrogate");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      const int32_t low =
          pos_ + 12 <= text_.size() && text_[pos_ + 6] == '\\' && text_[pos_ + 7] == 'u'
              ? Hex4(text_.data() + pos_ + 8)
              : -1;
      if (low < 0xDC00 || low > 0xDFFF) {
        return Fail(pos_, "a high surrogate \\u escape must be followed by a low surrogate");
      }
      pos_ += 6;
    }
    pos_ += 6;
  }
}

void JsonDocument::CheckRepeatedKeys(size_t object) {
  if (has_repeated_key_) return;  // one is enough to count the record
  const size_t end = values_[object].next;
  // Most objects are small with plain keys: compare raw key texts pairwise,
  // lengths first, with no copy and no sort.
  constexpr size_t kPairwiseMax = 16;
  size_t n = 0;
  bool escaped = false;
  std::string_view small[kPairwiseMax];
  for (size_t k = First(object); k < end; k = values_[k + 1].next) {
    escaped = escaped || values_[k].escaped;
    if (n < kPairwiseMax) small[n] = Text(k);
    ++n;
  }
  if (n < 2) return;
  if (!escaped && n <= kPairwiseMax) {
    for (size_t a = 1; a < n; ++a) {
      for (size_t b = 0; b < a; ++b) {
        if (small[a].size() == small[b].size() && small[a] == small[b]) {
          has_repeated_key_ = true;
          return;
        }
      }
    }
    return;
  }
  // Otherwise decode the escaped keys ("\u0061" is "a") and sort.
  keys_.clear();
  size_t decoded = 0;
  for (size_t k = First(object); k < end; k = values_[k + 1].next) {
    if (values_[k].escaped) {
      if (decoded_keys_.size() <= decoded) decoded_keys_.emplace_back();
      DecodeValidated(Text(k).substr(1, Text(k).size() - 2), &decoded_keys_[decoded++]);
    }
  }
  decoded = 0;
  for (size_t k = First(object); k < end; k = values_[k + 1].next) {
    keys_.push_back(values_[k].escaped ? std::string_view(decoded_keys_[decoded++])
                                       : Text(k).substr(1, Text(k).size() - 2));
  }
  std::sort(keys_.begin(), keys_.end());
  has_repeated_key_ = std::adjacent_find(keys_.begin(), keys_.end()) != keys_.end();
}

size_t JsonDocument::Member(size_t object, std::string_view key) const {
  if (values_[object].kind != Kind::kObject) return kNone;
  size_t found = kNone;
  std::string scratch;
  for (size_t k = First(object); k < values_[object].next; k = values_[k + 1].next) {
    if (String(k, &scratch) == key) found = k + 1;
  }
  return found;
}

std::string_view JsonDocument::String(size_t i, std::string* scratch) const {
  std::string_view body = Text(i).substr(1, Text(i).size() - 2);
  if (!values_[i].escaped) return body;
  DecodeValidated(body, scratch);
  return *scratch;
}

std::string JsonDocument::Minified(size_t i) const {
  const std::string_view text = Text(i);
  std::string out;
  out.reserve(text.size());
  for (size_t p = 0; p < text.size();) {
    const char c = text[p];
    if (c == '"') {
      size_t q = p + 1;
      while (text[q] != '"') q += text[q] == '\\' ? 2 : 1;  // validated: it ends
      out.append(text.substr(p, q + 1 - p));
      p = q + 1;
    } else {
      if (!IsWs(c)) out.push_back(c);
      ++p;
    }
  }
  return out;
}

namespace {

// A number by its exact value: significant digits without leading or
// trailing zeros and a decimal exponent ("-15e-1"), or "0". The JSON grammar
// was checked by the parser.
void AppendCanonicalNumber(std::string_view n, std::string* out) {
  size_t i = 0;
  const bool negative = n[0] == '-';
  if (negative) i = 1;
  std::string digits;
  int64_t exponent = 0;
  for (; i < n.size() && IsDigit(n[i]); ++i) digits.push_back(n[i]);
  if (i < n.size() && n[i] == '.') {
    for (++i; i < n.size() && IsDigit(n[i]); ++i) {
      digits.push_back(n[i]);
      --exponent;
    }
  }
  if (i < n.size() && (n[i] == 'e' || n[i] == 'E')) {
    ++i;
    const bool exp_negative = i < n.size() && n[i] == '-';
    if (i < n.size() && (n[i] == '+' || n[i] == '-')) ++i;
    int64_t e = 0;
    // Saturate: PostgreSQL refuses such a number long before this matters.
    for (; i < n.size(); ++i) e = std::min<int64_t>(e * 10 + (n[i] - '0'), int64_t{1} << 50);
    exponent += exp_negative ? -e : e;
  }
  const size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) {
    out->push_back('0');
    return;
  }
  const size_t last = digits.find_last_not_of('0');
  exponent += static_cast<int64_t>(digits.size() - 1 - last);
  if (negative) out->push_back('-');
  out->append(digits, lead, last + 1 - lead);
  if (exponent != 0) fmt::format_to(std::back_inserter(*out), "e{}", exponent);
}

void AppendCanonicalString(std::string_view decoded, std::string* out) {
  out->push_back('"');
  for (char ch : decoded) {
    const auto b = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (b < 0x20) {
      fmt::format_to(std::back_inserter(*out), "\\u{:04x}", static_cast<int>(b));
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

void AppendCanonical(const JsonDocument& doc, size_t v, std::string* out) {
  std::string scratch;
  switch (doc.at(v).kind) {
    case JsonDocument::Kind::kNull:
    case JsonDocument::Kind::kTrue:
    case JsonDocument::Kind::kFalse:
      out->append(doc.Text(v));
      return;
    case JsonDocument::Kind::kNumber:
      AppendCanonicalNumber(doc.Text(v), out);
      return;
    case JsonDocument::Kind::kString:
      AppendCanonicalString(doc.String(v, &scratch), out);
      return;
    case JsonDocument::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (size_t e = doc.First(v); e < doc.at(v).next; e = doc.at(e).next) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonical(doc, e, out);
      }
      out->push_back(']');
      return;
    }
    case JsonDocument::Kind::kObject: {
      struct Member {
        std::string key;
        size_t value;
      };
      std::vector<Member> members;
      for (size_t k = doc.First(v); k < doc.at(v).next; k = doc.at(k + 1).next) {
        members.push_back({std::string(doc.String(k, &scratch)), k + 1});
      }
      // Stable, so that among equal keys the last written stays last.
      std::stable_sort(members.begin(), members.end(),
                       [](const Member& a, const Member& b) { return a.key < b.key; });
      out->push_back('{');
      bool first = true;
      for (size_t m = 0; m < members.size(); ++m) {
        if (m + 1 < members.size() && members[m + 1].key == members[m].key) continue;
        if (!first) out->push_back(',');
        first = false;
        AppendCanonicalString(members[m].key, out);
        out->push_back(':');
        AppendCanonical(doc, members[m].value, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

std::string CanonicalJsonText(std::string_view json) {
  JsonDocument doc;
  if (!doc.Parse(json).ok()) return std::string(json);
  std::string out;
  out.reserve(json.size());
  AppendCanonical(doc, 0, &out);
  return out;
}

}  // namespace cutover::map
