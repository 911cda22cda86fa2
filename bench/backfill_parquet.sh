#!/usr/bin/env bash
# Loads ROWS agriprofit prices (default 5,000,000) with cutover, binary COPY,
# psql, pgloader and pandas. Usage: bench/backfill_parquet.sh [ROWS] [--scale]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows=5000000
scale=0
for arg in "$@"; do
  case "$arg" in
    --scale) scale=1 ;;
    *[!0-9]* | "") echo "usage: $0 [ROWS] [--scale]" >&2; exit 2 ;;
    *) rows="$arg" ;;
  esac
done
source "$root/scripts/setup.sh"
source "$root/bench/agriprofit_data.sh"
bench_deps pgloader python3-pandas python3-psycopg2
spec="$(agriprofit_data "$rows")"
extra=()
if [[ $scale -eq 1 ]]; then
  extra=(--scale "$(agriprofit_data $((rows * 4)))" $((rows * 4)))
fi
exec "$build_dir/bench/bench_backfill_parquet" "$build_dir/src/cli/cutover" "$spec" \
  "$root/bench/runbook_load.py" "$rows" "${extra[@]}"
