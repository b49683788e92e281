#!/bin/sh
# Builds the .pb reader fuzzer with clang (libFuzzer + ASan + UBSan) and runs it on a seed
# corpus made from the shared Pabulib files, copied to a temporary directory at run time.
#   bench/pb/fuzz.sh [RUNS]     (default 1000000; needs clang and libclang-rt-14-dev)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-1000000}
data="$root/../shared/data/pabulib"
cmake -S "$root" -B "$root/build-fuzz" -G Ninja -DABIERTO_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
ninja -C "$root/build-fuzz" pabulib_fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$data"/*.pb "$work/corpus/"
cd "$work"
"$root/build-fuzz/pabulib_fuzz" -runs="$runs" -max_len=8192 -timeout=25 \
  -rss_limit_mb=2048 -print_final_stats=1 corpus
