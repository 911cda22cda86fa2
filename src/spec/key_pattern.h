// KeyPattern: a Redis key pattern with named captures ("user:{id}:cart"), which
// maps a key to its capture values, back to the key, and to a SCAN MATCH glob.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::spec {

// KeyPattern design
//
// A pattern is literal text with `{name}` captures. A capture matches one or
// more bytes, as few as the literal after it allows: in `a:{x}:b:{y}` the key
// `a:1:2:b:3` gives x = "1:2", y = "3" (the literal ":b:" is searched from
// the left, after at least one byte). The last capture takes the rest of the
// key. Two captures side by side (`{a}{b}`) cannot be told apart and are
// refused, so that Format(Match(k)) == k for every key a pattern matches: the
// mapping is invertible by construction on the key side. `{{` and `}}` write
// literal braces. Matching is on bytes; keys need not be UTF-8.
class KeyPattern {
 public:
  // Parses `text`. InvalidArgument (without a location: the caller adds
  // its own) for an unclosed brace, an empty or repeated capture name, a
  // name that is not [A-Za-z_][A-Za-z0-9_]*, adjacent captures, or no
  // literal and no capture at all.
  static Result<KeyPattern> Parse(std::string_view text);

  const std::string& text() const { return text_; }
  // Capture names in the order they appear.
  const std::vector<std::string>& captures() const { return names_; }
  // The literal bytes around them: literals()[i] precedes capture i, and the
  // last one follows the last capture (captures().size() + 1 in all).
  const std::vector<std::string>& literals() const { return literals_; }

  // The captures of `key` (in captures() order), or nullopt when the key
  // does not match (a literal differs, or a capture would be empty).
  std::optional<std::vector<std::string>> Match(std::string_view key) const;

  // The key for capture values given in captures() order.
  // REQUIRES: values.size() == captures().size().
  std::string Format(const std::vector<std::string>& values) const;

  // A SCAN MATCH glob that every matching key matches (captures become `*`,
  // glob characters in literals are escaped). It may match more keys than
  // the pattern (an empty capture); Match() decides.
  std::string Glob() const;

  // True when SCAN MATCH Glob() returns `key`: the literals in order, each
  // capture any bytes, even none. Keys of one SCAN are routed to several
  // entities by it, each getting what its own SCAN MATCH would.
  bool MatchesGlob(std::string_view key) const;

  // The literal text before the first capture (the whole pattern if none).
  std::string_view Prefix() const;

 private:
  // literals_[i] precedes capture i; literals_.back() follows the last one.
  std::string text_;
  std::vector<std::string> literals_;
  std::vector<std::string> names_;
};

}  // namespace cutover::spec
