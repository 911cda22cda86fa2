#!/usr/bin/env bash
# Rolls N fluxstudio users (default 1,000,000) back from PostgreSQL into
# their JSON file with `cutover rollback`, beside psql \copy of row_to_json
# (PostgreSQL's own JSON export of the same rows), and prints rows/s, peak
# RSS and the ratio. The data is a copy: the rollback rewrites users.json.
# Usage: bench/rollback_json.sh [ROWS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${1:-1000000}"
[[ "$rows" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }
source "$root/scripts/setup.sh"
data="$root/bench/out/fluxstudio-$rows"
if [[ ! -f "$data/users.json" ]]; then
  python3 "$root/examples/fluxstudio/generate.py" --rows "$rows" --only users --csv --out "$data"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$data/users.json" "$work/"
"$build_dir/bench/bench_rollback_file" "$build_dir/src/cli/cutover" "$build_dir/tools/duckdb_sql" \
  "$root/bench/fluxstudio-users.yaml" "$work" users.json users json
