#include "common/failpoint.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace cutover {
namespace {

struct FailPointTable {
  std::mutex mu;
  std::map<std::string, long, std::less<>> remaining;  // hits left before the kill
  std::map<std::string, long, std::less<>> pause_ms;   // sleep on every hit
  std::map<std::string, long, std::less<>> values;     // FailPointValue's answers
};

FailPointTable* LoadTable() {
  const char* spec = std::getenv("CUTOVER_FAILPOINTS");
  if (spec == nullptr || *spec == '\0') return nullptr;
  auto* table = new FailPointTable();  // lives for the process
  std::string_view rest(spec);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t eq = item.find('=');
    std::string name(item.substr(0, eq));
    if (eq != std::string_view::npos && item.substr(eq + 1).starts_with("value:")) {
      table->values[name] = std::atol(std::string(item.substr(eq + 7)).c_str());
      continue;
    }
    if (eq != std::string_view::npos && item.substr(eq + 1).starts_with("pause:")) {
      table->pause_ms[name] = std::atol(std::string(item.substr(eq + 7)).c_str());
      continue;
    }
    long count =
        eq == std::string_view::npos ? 1 : std::atol(std::string(item.substr(eq + 1)).c_str());
    table->remaining[name] = count < 1 ? 1 : count;
  }
  return table;
}

FailPointTable* Table() {
  static FailPointTable* table = LoadTable();
  return table;
}

}  // namespace

std::optional<long> FailPointValue(std::string_view name) {
  FailPointTable* table = Table();
  if (table == nullptr) return std::nullopt;
  // Read-only after LoadTable: no lock.
  auto it = table->values.find(name);
  if (it == table->values.end()) return std::nullopt;
  return it->second;
}

void FailPoint(std::string_view name) {
  FailPointTable* table = Table();
  if (table == nullptr) return;
  if (auto pause = table->pause_ms.find(name); pause != table->pause_ms.end()) {
    // Read-only after LoadTable: no lock, so pausing threads do not queue.
    std::this_thread::sleep_for(std::chrono::milliseconds(pause->second));
    return;
  }
  std::lock_guard<std::mutex> lock(table->mu);
  auto it = table->remaining.find(name);
  if (it == table->remaining.end()) return;
  if (--it->second == 0) {
    fmt::print(stderr, "failpoint {}: killing process\n", name);
    std::fflush(stderr);
    std::raise(SIGKILL);
  }
}

}  // namespace cutover
