#!/bin/sh
# Times `abierto pb count` (the stand-alone abierto_pb until main dispatches `pb`) with both
# rules on a generated 100,000-voter election and on the largest shared Pabulib file, with
# /usr/bin/time -v for wall time and peak memory. Usage: bench/pb/run.sh [VOTERS]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
voters=${1:-100000}
cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DABIERTO_BENCH=ON >/dev/null
ninja -C "$root/build-bench" abierto_pb pb_bench >/dev/null
tool="$root/build-bench/abierto_pb"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" generate --voters "$voters" --projects 300 --approvals 10 --seed 1 > "$work/generated.pb"
for file in "$work/generated.pb" "$root/../shared/data/pabulib/Poland_Warszawa_2019_Ochota.pb"; do
  for rule in greedy mes; do
    echo "== $(basename "$file") --rule $rule"
    /usr/bin/time -v "$tool" count "$file" --rule "$rule" --json 2> "$work/time.txt" |
      cut -c1-120
    grep -E "Elapsed|Maximum resident" "$work/time.txt"
  done
done
