#!/usr/bin/env bash
# Rolls N traffic-safety indices (default 1,000,000) back from PostgreSQL
# into their Parquet file with `cutover rollback`, beside the same rows
# exported by hand (psql \copy to CSV, then DuckDB's CSV to Parquet), and
# prints rows/s, peak RSS and the ratio. Usage: bench/rollback_parquet.sh [ROWS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${1:-1000000}"
[[ "$rows" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }
source "$root/scripts/setup.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
"$build_dir/tools/duckdb_sql" "$root/examples/traffic-safety/generate.sql" \
  --set "ROWS=$rows" --set "OUT=$work/data" > /dev/null
sed 's|path: data/|path: "${BENCH_DATA}"|; s|^target: .*|target: { url: "${DATABASE_URL}" }\nwork_dir: "${BENCH_WORK}"|' \
  "$root/examples/traffic-safety/cutover.yaml" > "$work/cutover.yaml"
"$build_dir/bench/bench_rollback_file" "$build_dir/src/cli/cutover" "$build_dir/tools/duckdb_sql" \
  "$work/cutover.yaml" "$work/data" safety_indices.parquet safety_indices_realtime parquet
