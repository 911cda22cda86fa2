#!/usr/bin/env bash
# Fails when a component includes a header of a component it may not depend
# on: cli -> engine -> {source, map, target} -> spec -> common.
set -u
src="${1:?usage: layering_test.sh SRC_DIR}"
declare -A allowed=(
  [common]="common"
  [spec]="spec common"
  [source]="source spec common"
  [map]="map source spec common"
  [target]="target spec common"
  [engine]="engine source map target spec common"
  [control]="control engine source map target spec common"
  [server]="server control engine source map target spec common"
  [cli]="cli server control engine source map target spec common"
)
violations=0
checked=0
for comp in "${!allowed[@]}"; do
  [[ -d "$src/$comp" ]] || continue
  while IFS= read -r line; do
    file="${line%%:*}"
    inc="$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"${line#*:}")"
    checked=$((checked + 1))
    if [[ " ${allowed[$comp]} " != *" $inc "* ]]; then
      echo "layering: $file includes $inc/, but $comp may only include: ${allowed[$comp]}"
      violations=$((violations + 1))
    fi
  done < <(grep -rHE '^#include "[a-z_]+/' "$src/$comp" --include='*.h' --include='*.cc' | grep -v '_test\.cc:')
done
echo "layering: $checked includes checked, $violations violations"
[[ $violations -eq 0 && $checked -gt 0 ]]
