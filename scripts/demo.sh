#!/usr/bin/env bash
# Rehearses the example migration end to end on a scratch PostgreSQL:
# set-up, build, generate the example data, backfill, verify.
#   scripts/demo.sh [fluxstudio | agriprofit | traffic-safety]   (ROWS=N for the Parquet ones)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
example="${1:-fluxstudio}"
dir="$root/examples/$example"
if [[ -f "$dir/generate.sql" ]]; then
  # DuckDB writes the Parquet files; ROWS=N (default 20000) sets the size.
  mkdir -p "$dir/data"
  "$build_dir/tools/duckdb_sql" "$dir/generate.sql" --set "ROWS=${ROWS:-20000}" --set "OUT=$dir/data"
else
  python3 "$dir/generate.py" --out "$dir/data" "${@:2}"
fi
exec "$build_dir/src/cli/cutover" rehearse "$root/examples/$example/cutover.yaml"
