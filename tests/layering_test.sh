#!/usr/bin/env bash
# Fails when a component includes a header of a component it may not depend
# on, or when a system library's header leaves the adapter that wraps it.
# A component is a folder of src/ with its own library (stores/json, engine/core,
# ...); the graph is the one src/CMakeLists.txt links.
set -u
src="${1:?usage: layering_test.sh SRC_DIR}"

base="spec common"
declare -A allowed=(
  [common]="common"
  [spec]="spec common"
  [store]="store $base"
  [stores/json]="stores/json store $base"
  [stores/duckdb]="stores/duckdb store $base"
  [stores/postgres]="stores/postgres store $base"
  [stores]="stores stores/json stores/duckdb stores/postgres store $base"
  [map]="map store $base"
  [catalog]="catalog stores/postgres $base"
  [engine/core]="engine/core stores store map catalog stores/postgres $base"
  [engine/backfill]="engine/backfill engine/core stores store map catalog stores/postgres $base"
  [engine/verify]="engine/verify engine/core stores store map catalog stores/postgres $base"
  [engine/inspect]="engine/inspect engine/core stores store map catalog stores/postgres $base"
  [control]="control catalog stores/postgres $base"
  [server]="server control catalog stores store stores/postgres $base"
  [cli]="cli server control engine/backfill engine/verify engine/inspect engine/core stores store
         map catalog stores/postgres $base"
)
# System headers and the only components that may include them.
declare -A confined=(
  [libpq-fe.h]="stores/postgres"
  [duckdb.h]="stores/duckdb"
  [simdjson.h]="stores/json map"
  [hiredis/hiredis.h]="stores/redis"
)

# The component of a path below src/: the longest folder that has rules.
component_of() {
  local dir="$1"
  while [[ -n "$dir" && "$dir" != "." ]]; do
    [[ -n "${allowed[$dir]+x}" ]] && { echo "$dir"; return; }
    [[ "$dir" == */* ]] && dir="${dir%/*}" || dir=""
  done
}

violations=0
checked=0
unknown=0
while IFS= read -r file; do
  rel="${file#"$src"/}"
  comp="$(component_of "$(dirname "$rel")")"
  if [[ -z "$comp" ]]; then
    echo "layering: $rel is in no known component; add its folder to layering_test.sh"
    unknown=$((unknown + 1))
    continue
  fi
  while IFS= read -r inc; do
    [[ -z "$inc" ]] && continue
    checked=$((checked + 1))
    dep="$(component_of "$(dirname "$inc")")"
    if [[ " ${allowed[$comp]} " != *" $dep "* ]]; then
      echo "layering: $rel includes $inc, but $comp may only include: ${allowed[$comp]}"
      violations=$((violations + 1))
    fi
  done < <(sed -nE 's/^#include "([a-z_/]+\/[a-z_]+\.h)".*/\1/p' "$file")
  for header in "${!confined[@]}"; do
    if grep -qE "^#include [<\"]$header[>\"]" "$file" &&
      [[ " ${confined[$header]} " != *" $comp "* ]]; then
      echo "layering: $rel includes <$header>, which belongs to ${confined[$header]} only"
      violations=$((violations + 1))
    fi
  done
done < <(find "$src" -name '*.h' -o -name '*.cc' | grep -v '_test\.cc$' | sort)
echo "layering: $checked includes checked, $violations violations, $unknown files outside components"
[[ $violations -eq 0 && $unknown -eq 0 && $checked -gt 0 ]]
