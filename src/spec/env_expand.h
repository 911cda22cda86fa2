// ${VAR} expansion of spec values from the environment, so that secrets such
// as target.url stay out of the spec file.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::spec {

// Returns the value of an environment variable, nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads the process environment (getenv); the default EnvLookup.
std::optional<std::string> ProcessEnv(const std::string& name);

// Expands `text`:
//   ${VAR}            the value of VAR; an error when VAR is not set
//   ${VAR:-default}   VAR when set and non-empty, else `default` (itself
//                     expanded, so ${A:-${B}} works)
//   $$                a literal '$'
//   $ before anything else stays literal, so "$key" and "pa$s" need no escaping.
// VAR is [A-Za-z_][A-Za-z0-9_]*. Errors are InvalidArgument, start with
// `where` and mention `what` (the key being read, e.g. "'url' in target"). They
// name variables but never contain the text or any expanded value, because
// either may be a secret.
Result<std::string> ExpandEnv(std::string_view text, const Location& where, std::string_view what,
                              const EnvLookup& lookup = ProcessEnv);

}  // namespace cutover::spec
