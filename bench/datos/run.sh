#!/usr/bin/env bash
# Datastore ingest vs sqlite3's CSV import, and datastore_search latency, in one run.
#
# Generates a CSV of BENCH_ROWS rows (1,000,000 by default, about 137 MB, 8 columns), then
#   1. sqlite3 NEW.db '.mode csv' '.import FILE t'   (all columns TEXT, no inference, no index),
#      and again followed by the full-text and colonia indexes that run 2 builds
#   2. abierto_datos import with type inference, the quality report, the full-text index and
#      an equality index on `colonia` only (--no-auto-index --index colonia)
#   3. abierto_datos import with the default indexes (every integer, date and short text column)
#   4. `abierto data import FILE --dataset quejas` with the main binary: what an upload does —
#      the catalog entry, the file itself stored in the database (datos_blobs, 1 MiB chunks),
#      then the same ingest as 3 (default indexes)
# each under /usr/bin/time -v (wall time and peak RSS), on fresh databases in a temporary
# directory, and then times datastore_search (p50/p90 over BENCH_RUNS runs after a warm-up) on
# the database of run 2: an equality filter, a full-text q, and both.
#
# Knobs: BENCH_ROWS, BENCH_RUNS (200), BUILD (build). Needs `cmake -DABIERTO_BENCH=ON`.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-200}
TIME=$(type -P time || true)
for tool in sqlite3 "$TIME"; do
  [ -n "$tool" ] && command -v "$tool" >/dev/null || {
    echo "falta sqlite3 o GNU time: ABIERTO_BENCH_DEPS=1 scripts/install-deps.sh" >&2
    exit 1
  }
done
for bin in gen_csv abierto_datos abierto; do
  [ -x "$BUILD/$bin" ] || { echo "falta $BUILD/$bin: cmake -DABIERTO_BENCH=ON && ninja" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
csv=$tmp/quejas.csv
"$BUILD/gen_csv" "$ROWS" >"$csv"
bytes=$(stat -c %s "$csv")

measure() {  # name command...; prints "name wall_s peak_rss_mb"
  local name=$1
  shift
  "$TIME" -v -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$tmp/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$tmp/$name.time")
  echo "$name $wall $rss"
}

# Read the file once so that the first contender does not pay for a cold page cache alone.
cat "$csv" >/dev/null

r1=$(measure sqlite3 sqlite3 "$tmp/s.db" '.mode csv' ".import $csv t")
# sqlite3 doing the indexing run 2 does: the same full-text index (same tokenizer and options)
# over the three text columns, and the equality index on colonia. Still untyped and without the
# analysis pass or the quality report.
r1b=$(measure sqlite3-indexed sqlite3 "$tmp/s2.db" '.mode csv' ".import $csv t" \
  "CREATE VIRTUAL TABLE t_fts USING fts5(nombre, colonia, descripcion, content=t, \
     tokenize='unicode61 remove_diacritics 2', detail=none, columnsize=0)" \
  "INSERT INTO t_fts(t_fts) VALUES('rebuild')" \
  "CREATE INDEX t_colonia ON t(colonia)")
r2=$(measure abierto "$BUILD/abierto_datos" import --db "sqlite:$tmp/a.db" --resource quejas "$csv" \
  --quiet --timings --no-auto-index --index colonia)
r3=$(measure abierto-auto "$BUILD/abierto_datos" import --db "sqlite:$tmp/b.db" --resource quejas "$csv" \
  --quiet --timings)
r4=$(measure abierto-dataset "$BUILD/abierto" data import "$csv" --dataset quejas --db "sqlite:$tmp/c.db" \
  --quiet --timings)

search() {  # label args...
  local label=$1
  shift
  echo "| $label | $("$BUILD/abierto_datos" search --db "sqlite:$tmp/a.db" --resource quejas --runs "$RUNS" "$@" |
    awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}; printf "%s | %s | %s | %s", v["total"], v["p50_ms"], v["p90_ms"], v["max_ms"]}') |"
}

{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), SQLite $(sqlite3 --version | cut -d' ' -f1)"
  echo "File: $ROWS rows, $bytes bytes"
  echo
  echo "| import | wall s | peak RSS MB |"
  echo "| --- | ---: | ---: |"
  for r in "$r1" "$r1b" "$r2" "$r3" "$r4"; do set -- $r; echo "| $1 | $2 | $3 |"; done
  echo
  echo "Phases of abierto (filter index on colonia only):"
  sed 's/^/    /' "$tmp/abierto.err"
  echo "Phases of abierto-auto (default indexes):"
  sed 's/^/    /' "$tmp/abierto-auto.err"
  echo "Phases of abierto-dataset (abierto data import --dataset, default indexes):"
  sed 's/^/    /' "$tmp/abierto-dataset.err"
  echo
  echo "datastore_search on the abierto table, limit 100 with total, $RUNS runs:"
  echo
  echo "| query | total | p50 ms | p90 ms | max ms |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  search "filter colonia=Centro" --filter colonia=Centro
  search "q=luminaria" --q luminaria
  search "q=hernandez" --q hernandez
  search "filter colonia=Centro + q=luminaria" --filter colonia=Centro --q luminaria
} | tee "$tmp/summary.md"
grep -q "Filas cargadas" "$tmp/abierto-dataset.out" ||
  { echo "abierto data import --dataset no produjo el reporte" >&2; exit 1; }
grep -q "Filas cargadas" "$tmp/abierto.out" || { echo "la importación no produjo el reporte" >&2; exit 1; }
