#!/usr/bin/env bash
# Times `cutover verify` on ROWS agriprofit prices (default 5,000,000) when the
# stores agree and after 10 planted differences. Usage: bench/verify.sh [ROWS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${1:-5000000}"
[[ "$rows" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }
source "$root/scripts/setup.sh"
source "$root/bench/agriprofit_data.sh"
spec="$(agriprofit_data "$rows")"
exec "$build_dir/bench/bench_verify" "$build_dir/src/cli/cutover" "$spec" "$rows"
