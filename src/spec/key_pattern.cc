// Parsing and matching of Redis key patterns with named captures.
#include "spec/key_pattern.h"

#include <algorithm>
#include <cctype>

namespace cutover::spec {
namespace {

bool ValidName(std::string_view name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

Result<KeyPattern> KeyPattern::Parse(std::string_view text) {
  KeyPattern p;
  p.text_ = std::string(text);
  std::string literal;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      ++i;
      continue;
    }
    if (c == '}') {
      return InvalidArgument("key pattern '" + p.text_ + "': '}' at byte " + std::to_string(i) +
                             " closes no capture (write '}}' for a literal brace)");
    }
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    const size_t close = text.find('}', i + 1);
    if (close == std::string_view::npos) {
      return InvalidArgument("key pattern '" + p.text_ + "': capture at byte " + std::to_string(i) +
                             " is not closed with '}'");
    }
    const std::string name(text.substr(i + 1, close - i - 1));
    if (!ValidName(name)) {
      return InvalidArgument("key pattern '" + p.text_ + "': capture name '" + name +
                             "' must be a name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    if (std::find(p.names_.begin(), p.names_.end(), name) != p.names_.end()) {
      return InvalidArgument("key pattern '" + p.text_ + "': capture '" + name + "' appears twice");
    }
    if (!p.names_.empty() && literal.empty()) {
      return InvalidArgument("key pattern '" + p.text_ + "': captures '" + p.names_.back() +
                             "' and '" + name +
                             "' are side by side, so a key cannot be split between them; put a "
                             "literal separator between them");
    }
    p.literals_.push_back(std::move(literal));
    literal.clear();
    p.names_.push_back(name);
    i = close;
  }
  p.literals_.push_back(std::move(literal));
  if (p.names_.empty() && p.literals_.back().empty()) {
    return InvalidArgument("key pattern must not be empty");
  }
  return p;
}

std::optional<std::vector<std::string>> KeyPattern::Match(std::string_view key) const {
  if (!key.starts_with(literals_[0])) return std::nullopt;
  size_t pos = literals_[0].size();
  std::vector<std::string> values;
  values.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    const std::string& next = literals_[i + 1];
    const bool last = i + 1 == names_.size();
    size_t end;
    if (last) {
      // The last capture takes all but the trailing literal.
      if (key.size() < pos + 1 + next.size() || !key.ends_with(next)) return std::nullopt;
      end = key.size() - next.size();
    } else {
      end = key.find(next, pos + 1);
      if (end == std::string_view::npos) return std::nullopt;
    }
    if (end <= pos) return std::nullopt;
    values.emplace_back(key.substr(pos, end - pos));
    pos = end + next.size();
  }
  if (names_.empty() && key != literals_[0]) return std::nullopt;
  return values;
}

std::string KeyPattern::Format(const std::vector<std::string>& values) const {
  std::string key = literals_[0];
  for (size_t i = 0; i < names_.size(); ++i) {
    key += values[i];
    key += literals_[i + 1];
  }
  return key;
}

std::string KeyPattern::Glob() const {
  auto escape = [](const std::string& literal, std::string* out) {
    for (char c : literal) {
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out->push_back('\\');
      out->push_back(c);
    }
  };
  std::string glob;
  escape(literals_[0], &glob);
  for (size_t i = 0; i < names_.size(); ++i) {
    glob.push_back('*');
    escape(literals_[i + 1], &glob);
  }
  return glob;
}

bool KeyPattern::MatchesGlob(std::string_view key) const {
  const std::string& first = literals_.front();
  if (names_.empty()) return key == first;
  const std::string& last = literals_.back();
  if (key.size() < first.size() + last.size() || !key.starts_with(first) || !key.ends_with(last)) {
    return false;
  }
  // With `*` as the only wildcard, taking each middle literal at its first
  // place after the one before leaves the most room for the rest.
  std::string_view middle = key.substr(first.size(), key.size() - first.size() - last.size());
  for (size_t i = 1; i + 1 < literals_.size(); ++i) {
    const size_t at = middle.find(literals_[i]);
    if (at == std::string_view::npos) return false;
    middle.remove_prefix(at + literals_[i].size());
  }
  return true;
}

std::string_view KeyPattern::Prefix() const {
  return literals_[0];
}

}  // namespace cutover::spec
