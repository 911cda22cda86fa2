// SeriesPattern: an IoTDB series path pattern with named captures
// ("root.plant.{device_id}.{measurement}"), matched node by node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::spec {

// SeriesPattern design
//
// IoTDB names a series by its path, nodes separated by '.', the last node
// the measurement and the ones before it the device. A node that is not
// letters, digits, '_' and CJK is written in backquotes (`a-b`, `a.b`, a
// backquote doubled inside). A pattern is such a path whose nodes may also
// be `*` (exactly one node), `**` (one or more) or `{name}` (exactly one
// node, captured). Captures hold the node's name without its backquotes,
// so a device called `line-1` is captured as line-1, and Node() quotes it
// back for SQL. Matching is on whole nodes, never on characters: `*` never
// spans a '.', so a series matches or not whatever its nodes spell.
class SeriesPattern {
 public:
  // InvalidArgument (without a location: the caller adds its own) for a
  // pattern that does not start with the node `root`, an empty node, an
  // unclosed backquote or brace, a capture name that is not
  // [A-Za-z_][A-Za-z0-9_]* or is repeated, or fewer than two nodes after
  // root (a series needs a device and a measurement).
  static Result<SeriesPattern> Parse(std::string_view text);

  const std::string& text() const { return text_; }
  // Capture names in the order they appear.
  const std::vector<std::string>& captures() const { return names_; }
  // Whether the last node is a capture, and its name ("" if not).
  const std::string& measurement_capture() const { return measurement_capture_; }

  // The captures among the device's nodes (all but the last), and whether
  // a `*` or `**` stands among them: a row's device is named by those
  // captures only when no wildcard does.
  std::vector<std::string> device_captures() const;
  bool device_has_wildcard() const;

  // The captures of the series `path` (in captures() order), or nullopt
  // when it does not match.
  std::optional<std::vector<std::string>> Match(std::string_view path) const;

  // The pattern as an IoTDB path pattern for SHOW TIMESERIES: captures
  // become `*`.
  std::string ShowPattern() const;

  // The nodes of the path the pattern spells when capture i holds
  // `values[i]` (captures() order): the inverse of Match, for writing a row
  // back. nullopt when a `*` or `**` stands in it (no value names it) or a
  // value is empty. REQUIRES: values.size() == captures().size().
  std::optional<std::vector<std::string>> Fill(const std::vector<std::string>& values) const;

 private:
  struct Node {
    enum class Kind { kLiteral, kOne, kMany, kCapture } kind = Kind::kLiteral;
    std::string name;  // a literal's name without backquotes; a capture's name
  };
  bool MatchFrom(size_t pattern_at, const std::vector<std::string>& nodes, size_t node_at,
                 std::vector<std::string>* captured) const;

  std::string text_;
  std::vector<Node> nodes_;
  std::vector<std::string> names_;
  std::string measurement_capture_;
};

// The nodes of an IoTDB path, each without its backquotes; nullopt for an
// empty node or an unclosed backquote.
std::optional<std::vector<std::string>> SplitSeriesPath(std::string_view path);

// A node name as IoTDB SQL writes it: as is when it is letters, digits and
// '_' and not all digits, else in backquotes with inner backquotes doubled.
std::string QuoteSeriesNode(std::string_view name);

// Nodes joined into a path, each quoted as QuoteSeriesNode does.
std::string JoinSeriesPath(const std::vector<std::string>& nodes);

// The key of one point (a series' nodes) or one wide row (a device's nodes)
// at `epoch` units of the source's precision: "<JoinSeriesPath>@<epoch>".
// The reader names what it read by it and the writer back into IoTDB takes
// it, so a path spelled with or without needless backquotes is one key.
std::string SeriesPointKey(const std::vector<std::string>& nodes, int64_t epoch);

struct SeriesPoint {
  std::vector<std::string> nodes;
  int64_t epoch = 0;
};
// The nodes and time of a SeriesPointKey; nullopt when `key` is none.
std::optional<SeriesPoint> ParseSeriesPointKey(std::string_view key);

}  // namespace cutover::spec
