#!/usr/bin/env bash
# Runs the whole test suite: set-up, build, then every test against real
# PostgreSQL (and Redis) clusters the tests start on loopback.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
cd "$build_dir"
ctest --output-on-failure -j 2 "$@"
