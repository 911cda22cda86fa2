#!/usr/bin/env bash
# Backfills N generated fluxstudio users (default 1,000,000) with cutover and
# loads the same rows with psql \copy from CSV, into the same table, and
# prints rows/s, peak RSS and the ratio. Usage: bench/backfill_json.sh [ROWS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${1:-1000000}"
source "$root/scripts/setup.sh"
data="$root/bench/out/fluxstudio-$rows"
if [[ ! -f "$data/users.csv" ]]; then
  python3 "$root/examples/fluxstudio/generate.py" --rows "$rows" --only users --csv --out "$data"
fi
exec "$build_dir/bench/bench_backfill_json" "$build_dir/src/cli/cutover" \
  "$root/bench/fluxstudio-users.yaml" "$data" "$rows"
