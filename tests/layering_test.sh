#!/usr/bin/env bash
# Fails when a component includes a header of a component it may not depend
# on, when a system library's header leaves the adapter that wraps it, or
# when SQL on a cutover.* table appears outside src/catalog/.
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
  [stores/redis]="stores/redis store $base"
  [stores/iotdb]="stores/iotdb store $base"
  [stores]="stores stores/json stores/duckdb stores/postgres stores/redis stores/iotdb store $base"
  [map]="map store $base"
  [catalog]="catalog stores/postgres $base"
  [engine/core]="engine/core stores store map catalog stores/postgres $base"
  [engine/backfill]="engine/backfill engine/core stores store map catalog stores/postgres $base"
  [engine/verify]="engine/verify engine/core stores store map catalog stores/postgres $base"
  [engine/inspect]="engine/inspect engine/core stores store map catalog stores/postgres $base"
  [engine/sync]="engine/sync engine/core stores store map catalog stores/postgres $base"
  [engine/audit]="engine/audit engine/core stores store map catalog stores/postgres $base"
  [engine/rollback]="engine/rollback engine/core stores store map catalog stores/postgres $base"
  [control]="control catalog stores/postgres $base"
  [gateway]="gateway control engine/core stores store map catalog stores/postgres $base"
  [server]="server gateway control engine/sync catalog stores store stores/postgres $base"
  [cli]="cli server control engine/backfill engine/verify engine/inspect engine/sync engine/audit engine/rollback engine/core stores store
         map catalog stores/postgres $base"
)
# System headers and the only components that may include them (OpenSSL:
# the Redis client's TLS, and the TLS of serve's port).
declare -A confined=(
  [libpq-fe.h]="stores/postgres"
  [duckdb.h]="stores/duckdb"
  [simdjson.h]="stores/json stores/redis map"
  [hiredis/hiredis.h]="stores/redis"
  [openssl/ssl.h]="stores/redis server"
  [openssl/err.h]="stores/redis server"
  [openssl/x509v3.h]="stores/redis"
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

# SQL on a cutover.* table belongs to src/catalog/ (issue 10: one owner of the
# schema). Flagged: a C++ string literal (adjacent literals joined, raw
# strings included, comments skipped) that names cutover.<table> and holds
# an SQL keyword in capitals, as every statement in the tree is written.
# Messages that name a table ("... are in cutover.rejects") hold no keyword;
# advisory lock names ("cutover.chunks:...") are not tables.
sql_outside=0
while IFS= read -r hit; do
  echo "layering: $hit: SQL on a cutover table outside src/catalog/; add a typed function there"
  sql_outside=$((sql_outside + 1))
done < <(find "$src" \( -name '*.h' -o -name '*.cc' \) -not -path "$src/catalog/*" | sort |
  xargs perl -0777 -ne '
    my ($text, @lits, $i, $n) = ($_);
    $n = length $text;
    for ($i = 0; $i < $n;) {
      my $rest = substr($text, $i, 3);
      if ($rest =~ m{^//}) { my $e = index($text, "\n", $i); $i = $e < 0 ? $n : $e; next }
      if ($rest =~ m{^/\*}) { my $e = index($text, "*/", $i + 2); $i = $e < 0 ? $n : $e + 2; next }
      if (substr($text, $i) =~ m{^R"([^(\s]*)\(}) {
        my ($tag, $start) = ($1, $i + 3 + length $1);
        my $e = index($text, ")$tag\"", $start);
        $e = $n if $e < 0;
        push @lits, [$start, $e + 2 + length $tag, substr($text, $start, $e - $start)];
        $i = $e + 2 + length $tag; next;
      }
      my $c = substr($text, $i, 1);
      if ($c eq "\x27") { $i += substr($text, $i) =~ m{^\x27(\\.|[^\x27\\])*\x27} ? length $& : 1; next }
      if ($c eq "\"") {
        substr($text, $i) =~ m{^"((?:\\.|[^"\\\n])*)"} or do { $i++; next };
        push @lits, [$i, $i + length $&, $1]; $i += length $&; next;
      }
      $i++;
    }
    my @joined;
    for my $l (@lits) {
      if (@joined && substr($text, $joined[-1][1], $l->[0] - $joined[-1][1]) =~ /^\s*$/) {
        $joined[-1][1] = $l->[1]; $joined[-1][2] .= $l->[2];
      } else { push @joined, [@$l] }
    }
    for my $l (@joined) {
      next unless $l->[2] =~ /\bcutover\.[a-z_]+/;
      next unless $l->[2] =~ /\b(SELECT|INSERT|UPDATE|DELETE|FROM|INTO|JOIN|TABLE|INDEX|WHERE|RETURNING|TRUNCATE|ALTER|CREATE|DROP|LOCK)\b|to_regclass/;
      my $line = 1 + (substr($text, 0, $l->[0]) =~ tr/\n//);
      (my $rel = $ARGV) =~ s{^\Q'"$src"'\E/}{};
      print "$rel:$line\n";
    }')
echo "layering: $sql_outside string literals with SQL on a cutover table outside src/catalog/"
[[ $violations -eq 0 && $unknown -eq 0 && $checked -gt 0 && $sql_outside -eq 0 ]]
