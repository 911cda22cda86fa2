#!/usr/bin/env bash
# Backfills KEYS threadr keys (default 1,000,000) from a scratch Redis with
# cutover, beside the runbook's Python loop (on a sample) and the hiredis read
# ceiling, then measures cutover sync's lag under 5,000 writes/s.
# Usage: bench/backfill_redis.sh [KEYS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keys="${1:-1000000}"
[[ "$keys" =~ ^[0-9]+$ ]] || { echo "usage: $0 [KEYS]" >&2; exit 2; }
source "$root/scripts/setup.sh"
source "$root/bench/agriprofit_data.sh"  # bench_deps
bench_deps python3-redis python3-psycopg2
echo "bench: uptime before: $(uptime)"
exec "$build_dir/bench/bench_backfill_redis" "$build_dir/src/cli/cutover" \
  "$root/examples/threadr/cutover.yaml" "$root/examples/threadr/generate.py" \
  "$root/bench/runbook_redis_load.py" "$build_dir/bench/bench_redis_read_ceiling" \
  "$build_dir/bench/bench_redis_write_load" "$keys"
