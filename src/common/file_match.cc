// MatchFiles: glob segments matched with fnmatch(3) while walking the folders
// below the pattern's fixed prefix, `**` spanning any depth.
#include "common/file_match.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace cutover {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t slash = path.find('/', begin);
    if (slash == std::string::npos) slash = path.size();
    if (slash > begin) out.push_back(path.substr(begin, slash - begin));
    begin = slash + 1;
  }
  return out;
}

// Whether `names` (a path below the walk's root, split) matches `pattern`
// from segment `p` on.
bool MatchFrom(const std::vector<std::string>& pattern, size_t p,
               const std::vector<std::string>& names, size_t n) {
  if (p == pattern.size()) return n == names.size();
  if (pattern[p] == "**") {
    for (size_t k = n; k <= names.size(); ++k) {
      if (MatchFrom(pattern, p + 1, names, k)) return true;
    }
    return false;
  }
  if (n == names.size()) return false;
  if (fnmatch(pattern[p].c_str(), names[n].c_str(), FNM_PERIOD) != 0) return false;
  return MatchFrom(pattern, p + 1, names, n + 1);
}

bool HasExtension(const std::string& name, const std::vector<std::string>& extensions) {
  if (extensions.empty()) return true;
  return std::any_of(extensions.begin(), extensions.end(),
                     [&](const std::string& ext) { return name.ends_with(ext); });
}

}  // namespace

bool IsGlob(const std::string& path) {
  return path.find_first_of("*?[") != std::string::npos;
}

Result<std::vector<std::string>> MatchFiles(const std::string& path,
                                            const std::vector<std::string>& extensions) {
  std::vector<std::string> files;
  std::error_code ec;
  if (IsGlob(path)) {
    const std::vector<std::string> segments = Segments(path);
    size_t fixed = 0;
    while (fixed < segments.size() && !IsGlob(segments[fixed])) ++fixed;
    std::string root = path.starts_with("/") ? "/" : "";
    for (size_t i = 0; i < fixed; ++i) root += segments[i] + "/";
    const std::vector<std::string> pattern(segments.begin() + fixed, segments.end());
    const fs::path walk_root = root.empty() ? fs::path(".") : fs::path(root);
    if (fs::is_directory(walk_root, ec)) {
      fs::recursive_directory_iterator it(walk_root, ec), end;
      if (ec) return IoError("listing " + walk_root.string() + ": " + ec.message());
      for (; it != end; it.increment(ec)) {
        if (ec) return IoError("listing " + walk_root.string() + ": " + ec.message());
        if (!it->is_regular_file(ec)) continue;
        const std::string relative = fs::relative(it->path(), walk_root, ec).generic_string();
        if (MatchFrom(pattern, 0, Segments(relative), 0)) files.push_back(root + relative);
      }
    }
    if (files.empty()) return NotFound("glob '" + path + "' matches no file");
  } else if (fs::is_directory(path, ec)) {
    fs::recursive_directory_iterator it(path, ec), end;
    if (ec) return IoError("listing " + path + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return IoError("listing " + path + ": " + ec.message());
      if (it->is_regular_file(ec) && HasExtension(it->path().filename().string(), extensions)) {
        files.push_back(it->path().string());
      }
    }
    if (files.empty()) {
      std::string kinds;
      for (const auto& ext : extensions) kinds += (kinds.empty() ? "*" : " or *") + ext;
      return NotFound("directory '" + path + "' holds no " +
                      (kinds.empty() ? "file" : kinds + " file"));
    }
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    return NotFound("file '" + path + "' does not exist");
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace cutover
