// ${VAR} expansion of spec values from the environment, so that secrets such
// as target.url stay out of the spec file.
#include "spec/env_expand.h"

#include <cstdlib>

namespace cutover::spec {
namespace {

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}

class Expander {
 public:
  Expander(std::string_view text, const Location& where, std::string_view what,
           const EnvLookup& lookup)
      : text_(text), where_(where), what_(what), lookup_(lookup) {}

  // Appends to `out` until the end of the text or, inside a default, until
  // the '}' that closes it (consumed). With `evaluate` false only the syntax
  // is checked: like the shell, a default that is not used may name unset
  // variables. Recursion depth is bounded by the nesting in the spec text.
  Status Expand(std::string& out, bool inside_default, bool evaluate) {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (inside_default && c == '}') {
        ++pos_;
        return Status::Ok();
      }
      if (c != '$' || pos_ + 1 >= text_.size()) {
        out += c;
        ++pos_;
        continue;
      }
      const char next = text_[pos_ + 1];
      if (next == '$') {
        out += '$';
        pos_ += 2;
      } else if (next == '{') {
        pos_ += 2;
        RETURN_IF_ERROR(ExpandVariable(out, evaluate));
      } else {
        out += c;
        ++pos_;
      }
    }
    if (inside_default) return Error("unterminated '${' (missing '}')");
    return Status::Ok();
  }

 private:
  Status ExpandVariable(std::string& out, bool evaluate) {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsNameChar(text_[pos_])) ++pos_;
    const std::string name(text_.substr(start, pos_ - start));
    if (pos_ >= text_.size()) return Error("unterminated '${' (missing '}')");
    if (name.empty()) return Error("'${' must be followed by a variable name");
    if (!IsNameStart(name[0]))
      return Error("variable name '" + name + "' must not start with a digit");
    const std::optional<std::string> value = evaluate ? lookup_(name) : std::string();
    if (text_[pos_] == '}') {
      ++pos_;
      if (!value) {
        return Error("environment variable '" + name + "' is not set; use ${" + name +
                     ":-value} to give a default");
      }
      out += *value;
      return Status::Ok();
    }
    if (text_.substr(pos_, 2) == ":-") {
      pos_ += 2;
      const bool use_fallback = evaluate && (!value || value->empty());
      std::string fallback;
      RETURN_IF_ERROR(Expand(fallback, /*inside_default=*/true, use_fallback));
      out += use_fallback ? fallback : *value;
      return Status::Ok();
    }
    return Error("expected '}' or ':-' after variable name '" + name + "'");
  }

  Status Error(const std::string& message) const {
    return InvalidArgument(where_.ToString() + ": " + std::string(what_) + ": " + message);
  }

  std::string_view text_;
  size_t pos_ = 0;
  const Location& where_;
  std::string_view what_;
  const EnvLookup& lookup_;
};

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<std::string> ExpandEnv(std::string_view text, const Location& where, std::string_view what,
                              const EnvLookup& lookup) {
  // Most values hold no '$'; skip the lookup machinery for them.
  if (text.find('$') == std::string_view::npos) return std::string(text);
  std::string out;
  Expander expander(text, where, what, lookup);
  RETURN_IF_ERROR(expander.Expand(out, /*inside_default=*/false, /*evaluate=*/true));
  return out;
}

}  // namespace cutover::spec
