// One JSON record parsed strictly (RFC 8259) into a flat list of values that
// keep their exact text, so numbers of any length reach columns unrounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::map {

// JsonDocument design
//
// simdjson's DOM turns every number into a double or a 64-bit integer: it
// rounds 0.1000000000000000000001 to 0.1 and refuses 2^64 or 1e400, which are
// valid JSON that PostgreSQL's numeric and jsonb keep exactly. This parser
// keeps each value as a span of the record's text instead, and the mapper
// converts a number from its digits (numeric, bigint, float8 each by its own
// exact parser) and copies a jsonb value's text, so no value passes through a
// double on its way to a column.
//
// Values are stored in document order: an object is followed by its members
// as (key, value) pairs, an array by its elements, and every value records
// the index just past its subtree, so skipping a value costs O(1).
//
// An object may name a key twice. The rule, for columns and jsonb alike, is
// PostgreSQL's jsonb rule: the last value wins. Member() returns the last
// match, jsonb text is copied as written (PostgreSQL then keeps the last), and
// has_repeated_key() tells the caller so the record can be counted.
//
// Validation matches what PostgreSQL's jsonb accepts: UTF-8 text, no raw
// control character in a string, escapes as JSON defines them with surrogate
// pairs in order, nesting at most kMaxDepth deep. Whether \u0000 may be stored
// is the column's business (text and jsonb refuse it, with their own reason).
//
// Not thread-safe; one document is reused record after record, so parsing
// allocates only when a record is larger than any before it.
class JsonDocument {
 public:
  enum class Kind : uint8_t { kNull, kTrue, kFalse, kNumber, kString, kArray, kObject };

  struct Value {
    Kind kind = Kind::kNull;
    bool escaped = false;  // a string (or key) holding a backslash escape
    size_t begin = 0;      // the value's text, quotes and brackets included
    size_t end = 0;
    size_t next = 0;  // index of the value after this one's subtree
  };

  static constexpr size_t kNone = SIZE_MAX;
  static constexpr int kMaxDepth = 1024;

  // Parses `text`, which must stay alive while the document is used. A
  // malformed record is a DataError: "invalid UTF-8 in record", or
  // "malformed JSON at byte N: <what was wrong>".
  Status Parse(std::string_view text);

  // The root value is index 0.
  const Value& at(size_t i) const { return values_[i]; }
  std::string_view Text(size_t i) const {
    return text_.substr(values_[i].begin, values_[i].end - values_[i].begin);
  }

  // The value of the last member of object `i` named `key`, or kNone.
  size_t Member(size_t object, std::string_view key) const;

  // Children of an array (elements) or object (keys and values alternating):
  // from First(i) while != at(i).next, stepping with at(c).next.
  size_t First(size_t i) const { return i + 1; }

  // The decoded contents of string `i`: a view of the text when it has no
  // escape, else decoded into `scratch`.
  std::string_view String(size_t i, std::string* scratch) const;

  // Value `i` without the whitespace between tokens; strings, numbers and
  // repeated keys stay exactly as written.
  std::string Minified(size_t i) const;

  // Whether some object of the record names a key twice.
  bool has_repeated_key() const { return has_repeated_key_; }

  // JSON's name for a kind: "object", "array", "string", "number", ...
  static std::string_view KindName(Kind kind);

 private:
  // Parses the value at pos_ (whitespace skipped) into values_.
  Status ParseValue(int depth);
  Status ParseString(Value* v);
  Status ParseNumber();
  Status Fail(size_t at, std::string_view what) const;
  void CheckRepeatedKeys(size_t object);

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<Value> values_;
  bool has_repeated_key_ = false;
  // Scratch for CheckRepeatedKeys, kept to avoid allocating per object.
  std::vector<std::string> decoded_keys_;
  std::vector<std::string_view> keys_;
};

// One text per jsonb value, for comparing the source with PostgreSQL: keys
// sorted and a repeated key resolved to its last value (as jsonb stores it),
// no whitespace, strings re-escaped one way, and numbers by exact value
// (1.50, 1.5 and 15e-1 alike; 0.1000000000000000000001 not 0.1; 1e400 as
// PostgreSQL's 1 followed by 400 zeros). Text that is not JSON comes back as
// it is, so it can only equal itself.
std::string CanonicalJsonText(std::string_view json);

}  // namespace cutover::map
