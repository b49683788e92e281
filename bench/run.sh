#!/usr/bin/env bash
# Plan dashboard vs nginx: serves the public dashboard of the action plan from abierto and the
# very same bytes as a static file from nginx, and loads both with wrk on this machine, in one
# run and with the same settings. Also loads the plan's JSON API and measures abierto at one
# connection for latency. Prints a summary table and keeps the raw wrk outputs in bench/out/.
#
# Everything listens on 127.0.0.1 only, every load is bounded in time, and every process this
# script starts is stopped on exit (by the PIDs it started, nothing else).
#
# Knobs (environment): BENCH_DURATION (20s), BENCH_WARMUP (5s), BENCH_THREADS (2),
# BENCH_CONNECTIONS (64), ABIERTO_BIN (build/abierto), BENCH_OUT (bench/out), BENCH_TARGETS
# (which loads and in what order; default below).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${ABIERTO_BIN:-build/abierto}
DURATION=${BENCH_DURATION:-20s}
WARMUP=${BENCH_WARMUP:-5s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
OUT=${BENCH_OUT:-bench/out}
TARGETS=${BENCH_TARGETS:-nginx-static abierto-dashboard abierto-api nginx-static-c1 abierto-dashboard-c1}
PLAN=pamga-2025-2027
PAGE_PATH=/planes/$PLAN
API_PATH=/api/v1/plans/$PLAN

TIME=$(type -P time || echo missing-gnu-time)  # GNU time (not the shell keyword), for wrk CPU use
for tool in wrk nginx curl ss "$TIME"; do
  command -v "$tool" >/dev/null || {
    echo "falta $tool: ABIERTO_BENCH_DEPS=1 scripts/install-deps.sh" >&2
    exit 1
  }
done
[ -x "$BIN" ] || { echo "falta $BIN: make build" >&2; exit 1; }

tmp=$(mktemp -d)
started=()  # PIDs this script started; the only ones it stops
cleanup() {
  local pid
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
run_id=$(date +%Y%m%d-%H%M%S)
out="$OUT/$run_id"
mkdir -p "$out"

. bench/lib.sh

# --- abierto ------------------------------------------------------------------------------------
mkdir -m 700 "$tmp/db"
a_port=$(free_port)
ABIERTO_TODAY=2026-11-21 "$BIN" demo --port "$a_port" --host 127.0.0.1 \
  --db "sqlite:$tmp/db/bench.db" --no-access-log >"$out/abierto.log" 2>&1 &
a_pid=$!
started+=("$a_pid")
A="http://127.0.0.1:$a_port"
wait_http "$A/healthz" "$a_pid" abierto
startup_hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$a_pid/status")

# --- nginx serving the same bytes as a static file ------------------------------------------------
www="$tmp/www"
mkdir -p "$www"
curl -fsS -D "$out/abierto-page.headers" -o "$www/index.html" "$A$PAGE_PATH"
# nginx workers drop to an unprivileged user when started as root: let them read the page.
chmod 755 "$tmp" "$www"
chmod 644 "$www/index.html"
# Same response headers as abierto's page, so both put about the same bytes on the wire.
add_headers=$(awk -F': ' 'tolower($1) ~ /^(content-security-policy|x-content-type-options|referrer-policy|x-frame-options|permissions-policy|cache-control|vary)$/ {
  sub(/\r$/, "", $2); printf "      add_header %s \"%s\" always;\n", $1, $2 }' "$out/abierto-page.headers")
n_port=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  open_file_cache max=16 inactive=60s;  # no open/fstat/close per request
  tcp_nopush on;
  keepalive_timeout 30s;
  keepalive_requests 1000000;
  server_tokens off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$n_port;
    root $www;
    location = $PAGE_PATH {
      default_type "text/html; charset=utf-8";
      try_files /index.html =404;
$add_headers
    }
  }
}
EOF
cp "$tmp/nginx/nginx.conf" "$out/nginx.conf"
nginx -e "$tmp/nginx/error.log" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$out/nginx.log" 2>&1 &
n_pid=$!
started+=("$n_pid")
N="http://127.0.0.1:$n_port"
wait_http "$N$PAGE_PATH" "$n_pid" nginx

# Both must serve the same body.
curl -fsS -o "$tmp/from-abierto.html" "$A$PAGE_PATH"
curl -fsS -D "$out/nginx-page.headers" -o "$tmp/from-nginx.html" "$N$PAGE_PATH"
if ! cmp -s "$tmp/from-abierto.html" "$tmp/from-nginx.html"; then
  echo "los cuerpos de abierto y nginx difieren" >&2
  exit 1
fi
body_bytes=$(wc -c <"$tmp/from-nginx.html")
api_bytes=$(curl -fsS "$A$API_PATH" | wc -c)
echo "cuerpo idéntico en abierto y nginx: $body_bytes bytes; API: $api_bytes bytes"

# --- measurement helpers ------------------------------------------------------------------------
tck=$(getconf CLK_TCK)
cpu_ticks() {  # pid and its children's threads: utime+stime of each listed process
  local total=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat")))
  done
  echo "$total"
}
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
nginx_pids() { echo "$n_pid" $(ps -o pid= --ppid "$n_pid"); }

# Peak VmRSS of abierto, sampled every 100 ms while the sampler runs.
sampler_pid=
start_rss_sampler() {
  : >"$tmp/rss.samples"
  (while :; do awk '/^VmRSS/ {print $2}' "/proc/$a_pid/status" >>"$tmp/rss.samples"; sleep 0.1; done) &
  sampler_pid=$!
  started+=("$sampler_pid")
}
stop_rss_sampler() {
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sort -n "$tmp/rss.samples" | tail -1
}
# Linux resets VmHWM to the current RSS on "5" written to clear_refs (since 4.0); the demo seed
# at start-up peaks higher than serving, and that peak would hide the one under load.
reset_hwm() { echo 5 >"/proc/$a_pid/clear_refs" 2>/dev/null && echo yes || echo no; }

to_ms() {  # wrk latency ("912.00us", "1.55ms", "1.02s", "2.00m") to milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
    else printf "%s", v }'
}
wrk_field() {  # file percentile|rps|errors
  case "$2" in
    rps) awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$1" ;;
    errors)
      awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$1" ;;
    *) to_ms "$(awk -v p="$2%" '$1 == p {print $2}' "$1")" ;;
  esac
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
declare -A rps
# name server url connections
declare -A seen
bench() {
  local name=$1 server=$2 url=$3 conns=$4 threads=$THREADS
  # A target listed again in BENCH_TARGETS gets its own files and row: name.2, name.3...
  seen[$1]=$((${seen[$1]:-0} + 1))
  [ "${seen[$1]}" -gt 1 ] && name="$1.${seen[$1]}"
  [ "$conns" -lt "$threads" ] && threads=$conns
  echo "== $name: wrk -t$threads -c$conns -d$DURATION --latency $url (calentamiento $WARMUP)"
  wrk -t"$threads" -c"$conns" -d"$WARMUP" "$url" >"$out/$name.warmup.txt"
  local pids hwm_reset="" peak_rss="-" hwm="-" metric="-" t0 t1 c0 c1
  if [ "$server" = abierto ]; then
    pids=$a_pid
    hwm_reset=$(reset_hwm)
    start_rss_sampler
  else
    pids=$(nginx_pids)
  fi
  c0=$(cpu_ticks $pids)
  m0=$(machine_busy_ticks)
  t0=$(date +%s.%N)
  "$TIME" -f '%U %S' -o "$tmp/wrk.time" \
    wrk -t"$threads" -c"$conns" -d"$DURATION" --latency "$url" >"$out/$name.txt"
  t1=$(date +%s.%N)
  m1=$(machine_busy_ticks)
  c1=$(cpu_ticks $pids)
  if [ "$server" = abierto ]; then
    peak_rss=$(awk -v k="$(stop_rss_sampler)" 'BEGIN {printf "%.1f", k / 1024}')
    if [ "$hwm_reset" = yes ]; then
      hwm=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$a_pid/status")
    fi
    metric=$(curl -fsS "$A/metrics" | awk '/^abierto_process_resident_memory_bytes / {printf "%.1f", $2 / 1048576}')
  fi
  # CPU in % of one core over the measured run: the server, wrk, and everything else on the
  # machine (other than the server and wrk) in that time.
  local cpu wrk_cpu other
  cpu=$(awk -v c=$((c1 - c0)) -v t="$tck" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", 100 * c / t / (b - a)}')
  wrk_cpu=$(awk -v a="$t0" -v b="$t1" '{printf "%.0f", 100 * ($1 + $2) / (b - a)}' "$tmp/wrk.time")
  other=$(awk -v m=$((m1 - m0)) -v t="$tck" -v a="$t0" -v b="$t1" -v s="$cpu" -v w="$wrk_cpu" \
    'BEGIN {o = 100 * m / t / (b - a) - s - w; printf "%.0f", (o < 0 ? 0 : o)}')
  rps[$name]=$(wrk_field "$out/$name.txt" rps)
  # Server CPU time per request: less sensitive than req/s to whatever else runs on the machine.
  local us_req
  us_req=$(awk -v c=$((c1 - c0)) -v t="$tck" '/ requests in / {printf "%.1f", ($1 > 0 ? 1e6 * c / t / $1 : 0)}' "$out/$name.txt")
  rows+=("| $name | $conns | ${rps[$name]} | $(wrk_field "$out/$name.txt" 50) | $(wrk_field "$out/$name.txt" 90) | $(wrk_field "$out/$name.txt" 99) | $(wrk_field "$out/$name.txt" errors) | $cpu | $us_req | $wrk_cpu | $other | $peak_rss | $hwm | $metric |")
  cat "$out/$name.txt"
}

for target in $TARGETS; do
  case "$target" in
    nginx-static) bench nginx-static nginx "$N$PAGE_PATH" "$CONNS" ;;
    abierto-dashboard) bench abierto-dashboard abierto "$A$PAGE_PATH" "$CONNS" ;;
    abierto-api) bench abierto-api abierto "$A$API_PATH" "$CONNS" ;;
    nginx-static-c1) bench nginx-static-c1 nginx "$N$PAGE_PATH" 1 ;;
    abierto-dashboard-c1) bench abierto-dashboard-c1 abierto "$A$PAGE_PATH" 1 ;;
    *) echo "objetivo desconocido: $target" >&2; exit 1 ;;
  esac
done

ratio=$(awk -v a="${rps[abierto-dashboard]:-0}" -v n="${rps[nginx-static]:-0}" 'BEGIN {printf "%s", (n > 0 && a > 0 ? sprintf("%.0f", 100 * a / n) : "-")}')

{
  echo "Run $run_id — $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, shared by the servers and wrk"
  echo "wrk -t$THREADS -d$DURATION --latency after a $WARMUP warm-up; page body $body_bytes bytes (identical from both), API body $api_bytes bytes"
  echo
  echo "| target | conns | req/s | p50 ms | p90 ms | p99 ms | errors | server CPU % | server CPU µs/req | wrk CPU % | other CPU % | peak VmRSS MB | VmHWM MB | /metrics RSS MB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "CPU columns are % of one core during the measured run (200 = both cores); \"other\" is everything else running on the machine meanwhile."
  echo "Load average before the first run: $load_before"
  echo "dashboard abierto/nginx: $ratio% of nginx's req/s (target ≥ 50%)"
  echo "abierto VmHWM at start-up (demo seeding, before load): $(awk -v k="$startup_hwm_kb" 'BEGIN {printf "%.1f", k / 1024}') MB"
} | tee "$out/summary.md"
echo "salidas de wrk en $out/"
