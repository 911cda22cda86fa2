#!/usr/bin/env bash
# The IoTDB runbook's latency targets: telemetry points written through the
# gateway at 1,000 points/s for 60 s (p50/p95/p99, beside insertTablet
# straight to the IoTDB stand-in), then its two read queries on 20M points
# in PostgreSQL with and without time partitioning (telemetry_queries.sh).
# Usage: bench/telemetry.sh [--quick]   (--quick: 10 s of writes, 2M points)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=60
points=20000000
case "${1:-}" in
  "") ;;
  --quick) seconds=10; points=2000000 ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
source "$root/scripts/setup.sh"
echo "bench: uptime before: $(uptime)"
"$build_dir/bench/bench_telemetry_gateway" "$build_dir/src/cli/cutover" \
  "$root/tests/iotdb_standin.py" "$seconds" 1000
echo
CUTOVER_BIN="$build_dir/src/cli/cutover" exec "$root/bench/telemetry_queries.sh" "$points"
