// Reads cutover.yaml into a validated MigrationSpec. Every error a user can
// cause names the offending key and its position as file:line:column.
#pragma once

#include <string>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::spec {

// Reads and validates the spec at `path`. Relative paths inside it resolve
// against the spec's folder. Errors: NotFound/IoError when the file cannot be
// read, InvalidArgument ("path:line:column: message") for anything wrong in
// it. Scalar values go through ExpandEnv (env_expand.h) first; expanded values
// never appear in error messages. Thread-compatible: reads the environment.
Result<MigrationSpec> LoadSpec(const std::string& path);

// LoadSpec on text already in memory. `display_path` is what messages and
// Location::file show and what spec_path is set to; `base_dir` is the folder
// relative paths resolve against (made absolute against the current
// directory when it is relative itself).
Result<MigrationSpec> ParseSpec(const std::string& yaml_text, const std::string& display_path,
                                const std::string& base_dir);

}  // namespace cutover::spec
