#!/usr/bin/env bash
# Rehearses the example migration end to end on a scratch PostgreSQL:
# set-up, build, generate the example data, backfill, verify.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
example="${1:-fluxstudio}"
python3 "$root/examples/$example/generate.py" --out "$root/examples/$example/data" "${@:2}"
exec "$build_dir/src/cli/cutover" rehearse "$root/examples/$example/cutover.yaml"
