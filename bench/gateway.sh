#!/usr/bin/env bash
# Dual writes through `cutover serve`'s gateway beside direct writes to Redis
# and to PostgreSQL, from the same client in the same run: latency at 1,000
# writes/s and throughput flat out, with the journal's group-commit batching;
# then reads at 1,000/s in dual_write and in shadow, taking turns in 5 s
# windows (the cost of shadow reads).
# Usage: bench/gateway.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
echo "bench: uptime before: $(uptime)"
exec "$build_dir/bench/bench_gateway" "$build_dir/src/cli/cutover"
