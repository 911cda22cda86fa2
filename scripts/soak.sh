#!/usr/bin/env bash
# Differential soak: the differential test (tests/differential_test.cc) over
# many seeds per source type, each a fresh source with injected faults whose
# expected PostgreSQL contents come from Python's json module or DuckDB SQL.
#   scripts/soak.sh [SEEDS_PER_TYPE] [FIRST_SEED]    # default: 100 from 1000
# Five source types (JSON array, object, lines; Parquet; CSV), so the default
# runs 500 seeds. Builds first (scripts/setup.sh); prints a summary line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seeds="${1:-100}"
first="${2:-1000}"
source "$root/scripts/setup.sh"
started=$(date +%s)
status=0
CUTOVER_DIFF_SEEDS="$seeds" CUTOVER_DIFF_FIRST_SEED="$first" \
  "$build_dir/tests/differential_test" --gtest_brief=1 || status=$?
echo "soak: $((seeds * 5)) seeds ($seeds per source type from seed $first) in" \
  "$(($(date +%s) - started)) s: $([[ $status -eq 0 ]] && echo "0 mismatches" || echo "MISMATCHES (see above)")"
exit "$status"
