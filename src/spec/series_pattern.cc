// SeriesPattern: parsing IoTDB path patterns and matching series node by node.
#include "spec/series_pattern.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace cutover::spec {
namespace {

bool IsCaptureName(std::string_view name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Splits on '.' outside backquotes, keeping each node as written.
std::optional<std::vector<std::string>> SplitWritten(std::string_view path) {
  std::vector<std::string> nodes;
  std::string node;
  bool quoted = false;
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '`') {
      if (quoted && i + 1 < path.size() && path[i + 1] == '`') {
        node += "``";
        ++i;
        continue;
      }
      quoted = !quoted;
      node += c;
    } else if (c == '.' && !quoted) {
      if (node.empty()) return std::nullopt;
      nodes.push_back(std::move(node));
      node.clear();
    } else {
      node += c;
    }
  }
  if (quoted || node.empty()) return std::nullopt;
  nodes.push_back(std::move(node));
  return nodes;
}

// A node as written without its backquotes (a doubled one becomes one).
std::string Unquote(std::string_view written) {
  if (written.size() < 2 || written.front() != '`' || written.back() != '`') {
    return std::string(written);
  }
  std::string out;
  const std::string_view inner = written.substr(1, written.size() - 2);
  for (size_t i = 0; i < inner.size(); ++i) {
    out += inner[i];
    if (inner[i] == '`' && i + 1 < inner.size() && inner[i + 1] == '`') ++i;
  }
  return out;
}

// Whether `name` is letters, digits, '_' and CJK (U+2E80..U+9FFF, which
// IoTDB's identifiers take unquoted), decoding UTF-8 as it goes.
bool PlainNode(std::string_view name) {
  for (size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (std::isalnum(c) || c == '_') {
      ++i;
      continue;
    }
    // U+2E80..U+9FFF are three bytes: 1110xxxx 10xxxxxx 10xxxxxx.
    if ((c & 0xF0) != 0xE0 || i + 2 >= name.size()) return false;
    const auto c1 = static_cast<unsigned char>(name[i + 1]);
    const auto c2 = static_cast<unsigned char>(name[i + 2]);
    if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80) return false;
    const uint32_t cp = ((c & 0x0Fu) << 12) | ((c1 & 0x3Fu) << 6) | (c2 & 0x3Fu);
    if (cp < 0x2E80 || cp > 0x9FFF) return false;
    i += 3;
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> SplitSeriesPath(std::string_view path) {
  auto written = SplitWritten(path);
  if (!written) return std::nullopt;
  for (std::string& node : *written) node = Unquote(node);
  return written;
}

std::string QuoteSeriesNode(std::string_view name) {
  const bool plain =
      !name.empty() && PlainNode(name) && !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      });
  if (plain) return std::string(name);
  std::string out = "`";
  for (char c : name) {
    out += c;
    if (c == '`') out += '`';
  }
  out += '`';
  return out;
}

std::string JoinSeriesPath(const std::vector<std::string>& nodes) {
  std::string out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (i > 0) out += '.';
    out += QuoteSeriesNode(nodes[i]);
  }
  return out;
}

Result<SeriesPattern> SeriesPattern::Parse(std::string_view text) {
  SeriesPattern p;
  p.text_ = std::string(text);
  const auto written = SplitWritten(text);
  if (!written) {
    return InvalidArgument("series pattern '" + p.text_ +
                           "' has an empty node or an unclosed backquote");
  }
  if ((*written)[0] != "root") {
    return InvalidArgument(
        "series pattern '" + p.text_ +
        "' must start with the node root (root.<database>.<device>.<measurement>)");
  }
  if (written->size() < 3) {
    return InvalidArgument("series pattern '" + p.text_ +
                           "' names no device and measurement: a series is "
                           "root.<device nodes>.<measurement>");
  }
  for (const std::string& w : *written) {
    Node n;
    if (w == "*") {
      n.kind = Node::Kind::kOne;
    } else if (w == "**") {
      n.kind = Node::Kind::kMany;
    } else if (w.front() == '{') {
      const std::string name = w.size() >= 2 && w.back() == '}' ? w.substr(1, w.size() - 2) : "";
      if (!IsCaptureName(name)) {
        return InvalidArgument("series pattern '" + p.text_ + "': '" + w +
                               "' is no capture; write {name} with a name of letters, digits "
                               "and _ (a node with braces in its name goes in backquotes)");
      }
      if (std::find(p.names_.begin(), p.names_.end(), name) != p.names_.end()) {
        return InvalidArgument("series pattern '" + p.text_ + "' captures {" + name + "} twice");
      }
      n.kind = Node::Kind::kCapture;
      n.name = name;
      p.names_.push_back(name);
    } else {
      n.name = Unquote(w);
    }
    p.nodes_.push_back(std::move(n));
  }
  if (p.nodes_.back().kind == Node::Kind::kCapture) p.measurement_capture_ = p.nodes_.back().name;
  return p;
}

bool SeriesPattern::MatchFrom(size_t pattern_at, const std::vector<std::string>& nodes,
                              size_t node_at, std::vector<std::string>* captured) const {
  if (pattern_at == nodes_.size()) return node_at == nodes.size();
  if (node_at == nodes.size()) return false;
  const Node& n = nodes_[pattern_at];
  switch (n.kind) {
    case Node::Kind::kLiteral:
      return n.name == nodes[node_at] && MatchFrom(pattern_at + 1, nodes, node_at + 1, captured);
    case Node::Kind::kOne:
      return MatchFrom(pattern_at + 1, nodes, node_at + 1, captured);
    case Node::Kind::kCapture: {
      captured->push_back(nodes[node_at]);
      if (MatchFrom(pattern_at + 1, nodes, node_at + 1, captured)) return true;
      captured->pop_back();
      return false;
    }
    case Node::Kind::kMany:
      // One or more nodes: the fewest that let the rest match.
      for (size_t end = node_at + 1; end <= nodes.size(); ++end) {
        const size_t before = captured->size();
        if (MatchFrom(pattern_at + 1, nodes, end, captured)) return true;
        captured->resize(before);
      }
      return false;
  }
  return false;
}

std::optional<std::vector<std::string>> SeriesPattern::Match(std::string_view path) const {
  const auto nodes = SplitSeriesPath(path);
  if (!nodes) return std::nullopt;
  std::vector<std::string> captured;
  if (!MatchFrom(0, *nodes, 0, &captured)) return std::nullopt;
  return captured;
}

std::vector<std::string> SeriesPattern::device_captures() const {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < nodes_.size(); ++i) {
    if (nodes_[i].kind == Node::Kind::kCapture) out.push_back(nodes_[i].name);
  }
  return out;
}

bool SeriesPattern::device_has_wildcard() const {
  for (size_t i = 0; i + 1 < nodes_.size(); ++i) {
    if (nodes_[i].kind == Node::Kind::kOne || nodes_[i].kind == Node::Kind::kMany) return true;
  }
  return false;
}

std::string SeriesPattern::ShowPattern() const {
  std::string out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i > 0) out += '.';
    const Node& n = nodes_[i];
    switch (n.kind) {
      case Node::Kind::kLiteral:
        out += QuoteSeriesNode(n.name);
        break;
      case Node::Kind::kOne:
      case Node::Kind::kCapture:
        out += '*';
        break;
      case Node::Kind::kMany:
        out += "**";
        break;
    }
  }
  return out;
}

std::optional<std::vector<std::string>> SeriesPattern::Fill(
    const std::vector<std::string>& values) const {
  std::vector<std::string> out;
  size_t next = 0;
  for (const Node& n : nodes_) {
    switch (n.kind) {
      case Node::Kind::kLiteral:
        out.push_back(n.name);
        break;
      case Node::Kind::kCapture:
        if (next >= values.size() || values[next].empty()) return std::nullopt;
        out.push_back(values[next++]);
        break;
      case Node::Kind::kOne:
      case Node::Kind::kMany:
        return std::nullopt;
    }
  }
  return out;
}

std::string SeriesPointKey(const std::vector<std::string>& nodes, int64_t epoch) {
  return JoinSeriesPath(nodes) + "@" + std::to_string(epoch);
}

std::optional<SeriesPoint> ParseSeriesPointKey(std::string_view key) {
  // The time has no '@', the path may (inside backquotes): split at the last.
  const size_t at = key.rfind('@');
  if (at == std::string_view::npos || at + 1 == key.size()) return std::nullopt;
  SeriesPoint out;
  const std::string_view digits = key.substr(at + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.epoch);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  auto nodes = SplitSeriesPath(key.substr(0, at));
  if (!nodes) return std::nullopt;
  out.nodes = std::move(*nodes);
  return out;
}

}  // namespace cutover::spec
