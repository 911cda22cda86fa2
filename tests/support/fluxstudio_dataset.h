// The fluxstudio example data set for scenario tests: generated into a temp
// folder, its records counted independently of cutover, and the end-state check.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "support/pg_harness.h"
#include "support/workspace.h"

namespace cutover::testing {

// The four tables of the fluxstudio example.
extern const char* const kFluxstudioTables[4];

// The fluxstudio example generated into a folder, and how many records of each table its files
// hold, counted by Python's json module rather than by cutover.
struct Dataset {
  std::string dir;
  std::string spec;
  std::map<std::string, int64_t> records;
};

// Generates `rows` users (and rows/2 projects) with the example's generator.
Dataset MakeDataset(int rows);

// After a successful run: verify is clean, every table holds each source record once, and the
// ledger read every record (read = migrated + rejected, none rejected).
void ExpectCompleteAndClean(const Dataset& ds, const std::string& url);

}  // namespace cutover::testing
