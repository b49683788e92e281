#!/usr/bin/env bash
# Participatory-budget voting endpoint under wrk: booth ballots POSTed to
# /api/v1/actions/pp.vote.booth on a fresh SQLite demo database, each with a new voter, then a
# recount of what was stored against what was acknowledged.
#
# 1. Starts `abierto demo` (ABIERTO_TODAY=2026-11-21: the 2026 process is voting) on a free port
#    of 127.0.0.1 with a fresh SQLite database in a temporary directory, --no-access-log.
# 2. Logs in as the demo booth staff account (enlace.presupuesto@demo.abierto.mx) through the
#    /entrar form and creates an API token with tokens.create.
# 3. wrk (bench/pp/ballots.lua) POSTs ballots for one zone of presupuesto-2026, each with a
#    distinct well-formed CURP, and counts the answers by status; it keeps every receipt code.
# 4. Stops the server and recounts in the database (sqlite3): ballots of that process and zone,
#    distinct receipt hashes, voter-register rows; every acknowledged receipt must be stored
#    (sha256("recibo:" + code) in pp_ballots) and every stored ballot must have been sent.
# 5. Serves the same database with ABIERTO_TODAY=2026-12-07 (voting over) and recounts the
#    public Pabulib export of the zone (/presupuesto/presupuesto-2026/{zone}.pb), and checks a
#    sample of receipts through the public pp.receipt.check action.
#
# Everything listens on 127.0.0.1 only, the load is bounded in time, and every process this
# script starts is stopped on exit (by the PIDs it started, nothing else).
#
# Knobs (environment): PP_DURATION (15s), PP_THREADS (2), PP_CONNECTIONS (16),
# PP_ZONE_NAME (Coecillo), ABIERTO_BIN (build/abierto), BENCH_OUT (bench/out).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${ABIERTO_BIN:-build/abierto}
DURATION=${PP_DURATION:-15s}
THREADS=${PP_THREADS:-2}
CONNS=${PP_CONNECTIONS:-16}
ZONE_NAME=${PP_ZONE_NAME:-Coecillo}
OUTROOT=${BENCH_OUT:-bench/out}
PROCESS=presupuesto-2026
STAFF=enlace.presupuesto@demo.abierto.mx
PASSWORD=demo-abierto-2025
TARGET=2000

for tool in wrk curl ss sqlite3 python3; do
  command -v "$tool" >/dev/null || { echo "falta $tool" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "falta $BIN: make build" >&2; exit 1; }

tmp=$(mktemp -d)
started=()  # PIDs this script started; the only ones it stops
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${started[@]}"; do stop_pid "$pid"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

out="$OUTROOT/pp-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

. bench/lib.sh

json() {  # python expression on the JSON document `d` read from stdin
  python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# --- 1. the server ------------------------------------------------------------------------------
mkdir -m 700 "$tmp/db"
DB="$tmp/db/pp.db"
port=$(free_port)
ABIERTO_TODAY=2026-11-21 "$BIN" demo --port "$port" --host 127.0.0.1 --db "sqlite:$DB" \
  --no-access-log >"$out/abierto.log" 2>&1 &
a_pid=$!
started+=("$a_pid")
A="http://127.0.0.1:$port"
wait_http "$A/healthz" "$a_pid" abierto

# --- 2. booth staff login and API token ---------------------------------------------------------
jar="$tmp/cookies"
csrf_of() { sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n1; }
login_csrf=$(curl -fsS -c "$jar" -b "$jar" "$A/entrar" | csrf_of)
[ -n "$login_csrf" ] || { echo "sin token CSRF en /entrar" >&2; exit 1; }
code=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
  --data-urlencode "_csrf=$login_csrf" --data-urlencode "email=$STAFF" \
  --data-urlencode "password=$PASSWORD" --data-urlencode "next=/panel" "$A/entrar")
[ "$code" = 303 ] || { echo "el inicio de sesión de $STAFF respondió $code" >&2; exit 1; }
session_csrf=$(curl -fsS -c "$jar" -b "$jar" "$A/panel" | csrf_of)
[ -n "$session_csrf" ] || { echo "sin token CSRF en /panel" >&2; exit 1; }
curl -fsS -c "$jar" -b "$jar" -H "X-CSRF-Token: $session_csrf" -H 'Content-Type: application/json' \
  -d '{"name":"bench-pp"}' "$A/api/v1/actions/tokens.create" >"$tmp/token.json"
TOKEN=$(json "d.get('result', d)['token']" <"$tmp/token.json")

# --- the process, the zone and a valid ballot for it --------------------------------------------
curl -fsS "$A/api/v1/presupuesto/$PROCESS" >"$tmp/process.json"
read -r PROCESS_ID ZONE_ID PROJECTS < <(python3 - "$tmp/process.json" "$ZONE_NAME" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
zone = next(z for z in d["zones"] if z["name"] == sys.argv[2])
def zone_of(p):
    return p["zone"]["id"] if isinstance(p.get("zone"), dict) else p.get("zone_id")
ids = [p["id"] for p in d["projects"] if zone_of(p) == zone["id"] and p["status"] == "viable"]
print(d["id"], zone["id"], ",".join(str(i) for i in sorted(ids)[:2]))
PY
)
[ -n "$PROJECTS" ] || { echo "la zona $ZONE_NAME no tiene proyectos viables" >&2; exit 1; }
count_zone() {
  sqlite3 "$DB" "SELECT count(*) FROM pp_ballots WHERE process_id = $PROCESS_ID AND zone_id = $ZONE_ID"
}
before=$(count_zone)
voters_before=$(sqlite3 "$DB" "SELECT count(*) FROM pp_voters WHERE process_id = $PROCESS_ID")
echo "proceso $PROCESS ($PROCESS_ID), zona $ZONE_NAME ($ZONE_ID), boleta \"$PROJECTS\", boletas previas $before"

# --- 3. the load --------------------------------------------------------------------------------
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, clock ticks
tck=$(getconf CLK_TCK)
cpu0=$(cpu_of "$a_pid")
PP_TOKEN=$TOKEN PP_PROCESS=$PROCESS_ID PP_ZONE=$ZONE_ID PP_PROJECTS=$PROJECTS PP_OUT=$out \
  timeout 120 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s --latency \
  -s bench/pp/ballots.lua "$A/" >"$out/wrk.txt" 2>&1 &
w_pid=$!
started+=("$w_pid")
wait "$w_pid" || { cat "$out/wrk.txt" >&2; echo "wrk falló" >&2; exit 1; }
cpu1=$(cpu_of "$a_pid")
cat "$out/wrk.txt"

# --- 4. recount in the database, server stopped -------------------------------------------------
stop_pid "$a_pid"
val() { awk -v k="$1" '$1 == k {print $2}' "$out/wrk-summary.txt"; }
accepted=$(val status_200); accepted=${accepted:-0}
responses=$(val responses)
sent=$(val sent)
duration_us=$(val duration_us)
stored=$(( $(count_zone) - before ))
distinct=$(sqlite3 "$DB" "SELECT count(DISTINCT receipt_hash) FROM pp_ballots WHERE process_id = $PROCESS_ID AND zone_id = $ZONE_ID")
distinct=$(( distinct - before ))
voters=$(( $(sqlite3 "$DB" "SELECT count(*) FROM pp_voters WHERE process_id = $PROCESS_ID") - voters_before ))
items=$(sqlite3 "$DB" "SELECT count(*) FROM pp_ballot_items i JOIN pp_ballots b ON b.id = i.ballot_id WHERE b.process_id = $PROCESS_ID AND b.zone_id = $ZONE_ID")
per_ballot=$(awk -F, '{print NF}' <<<"$PROJECTS")
sqlite3 "$DB" "SELECT receipt_hash FROM pp_ballots WHERE process_id = $PROCESS_ID AND zone_id = $ZONE_ID" >"$out/stored-hashes.txt"
read -r receipts receipts_distinct receipts_missing < <(python3 - "$out/receipts.txt" "$out/stored-hashes.txt" <<'PY'
import hashlib, sys
codes = [l.strip() for l in open(sys.argv[1]) if l.strip()]
stored = {l.strip() for l in open(sys.argv[2]) if l.strip()}
# The server hashes "recibo:" + the code upper-cased without spaces or dashes.
def receipt_hash(c):
    return hashlib.sha256(("recibo:" + c.upper().replace("-", "").replace(" ", "")).encode())
missing = sum(1 for c in codes if receipt_hash(c).hexdigest() not in stored)
print(len(codes), len(set(codes)), missing)
PY
)

# --- 5. recount through the public export after voting closes ------------------------------------
port2=$(free_port)
ABIERTO_TODAY=2026-12-07 "$BIN" serve --port "$port2" --host 127.0.0.1 --db "sqlite:$DB" \
  --no-access-log >"$out/abierto-closed.log" 2>&1 &
s_pid=$!
started+=("$s_pid")
B="http://127.0.0.1:$port2"
wait_http "$B/healthz" "$s_pid" abierto-closed
curl -fsS "$B/presupuesto/$PROCESS/$ZONE_ID.pb" >"$tmp/zone.pb"
read -r pb_meta pb_rows < <(python3 - "$tmp/zone.pb" <<'PY'
import sys
section, meta, rows = None, None, 0
header = True
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if line in ("META", "PROJECTS", "VOTES"):
        section, header = line, True
        continue
    if header:
        header = False
        continue
    if section == "META" and line.split(";")[0] == "num_votes":
        meta = int(line.split(";")[1])
    elif section == "VOTES" and line:
        rows += 1
print(meta, rows)
PY
)
pb_votes=$(( pb_rows - before ))
sample_ok=0
sample_n=0
while read -r code; do
  sample_n=$((sample_n + 1))
  curl -fsS -o /dev/null "$B/api/v1/actions/pp.receipt.check?code=$code" && sample_ok=$((sample_ok + 1))
done < <(awk 'NR % 97 == 1' "$out/receipts.txt" | head -n 200)
stop_pid "$s_pid"

# --- figures ------------------------------------------------------------------------------------
secs=$(awk -v u="$duration_us" 'BEGIN {printf "%.2f", u / 1e6}')
rate=$(awk -v a="$accepted" -v u="$duration_us" 'BEGIN {printf "%.0f", a / (u / 1e6)}')
cpu_us=$(awk -v c=$((cpu1 - cpu0)) -v t="$tck" -v n="$responses" 'BEGIN {printf "%.0f", n ? c / t * 1e6 / n : 0}')
ms() { awk -v u="$(val "$1")" 'BEGIN {printf "%.2f", u / 1000}'; }
refusals=$(awk '$1 ~ /^status_/ && $1 != "status_200" {sub(/^status_/, "", $1); printf "%s%s: %s", sep, $1, $2; sep=", "}' "$out/wrk-summary.txt")
unanswered=$((sent - responses))
{
  echo "carga: wrk -t$THREADS -c$CONNS -d$DURATION ($secs s medidos), zona $ZONE_NAME, boleta \"$PROJECTS\""
  echo "aceptadas (200): $accepted = $rate boletas/s   (objetivo ≥ $TARGET)"
  echo "latencia p50 $(ms p50_us) ms, p90 $(ms p90_us) ms, p99 $(ms p99_us) ms, máx $(ms max_us) ms"
  echo "rechazos por estado: ${refusals:-ninguno}; errores de socket: connect $(val errors_connect), read $(val errors_read), write $(val errors_write), timeout $(val errors_timeout)"
  echo "enviadas $sent, respondidas $responses, sin respuesta al cortar wrk $unanswered"
  echo "CPU del servidor: $cpu_us µs por respuesta"
  echo "recuento en la base: boletas $stored, recibos distintos $distinct, registro de votantes $voters, renglones de boleta $items (esperados $((stored * per_ballot)))"
  echo "recibos de las respuestas 200: $receipts ($receipts_distinct distintos), sin boleta guardada: $receipts_missing"
  echo "recuento público (.pb con la votación cerrada): num_votes $pb_meta, boletas $pb_votes de esta carga; recibos comprobados con pp.receipt.check: $sample_ok de $sample_n"
} | tee "$out/summary.txt"

fail=0
check() { if ! eval "$1"; then echo "FALLA: $2" >&2; fail=1; fi; }
check '[ "$receipts" -eq "$accepted" ] && [ "$(val bad_200)" -eq 0 ]' "cada 200 trae un recibo"
check '[ "$receipts_distinct" -eq "$receipts" ]' "recibos repetidos en las respuestas"
check '[ "$receipts_missing" -eq 0 ]' "boletas aceptadas que no están en la base (perdidas)"
check '[ "$distinct" -eq "$stored" ] && [ "$voters" -eq "$stored" ]' "boletas duplicadas en la base"
check '[ "$items" -eq $((stored * per_ballot)) ]' "renglones de boleta incompletos"
check '[ "$pb_votes" -eq "$stored" ] && [ "$pb_meta" -eq "$pb_rows" ]' "el .pb público no cuenta lo mismo que la base"
check '[ "$sample_ok" -eq "$sample_n" ]' "recibos que pp.receipt.check no encuentra"
check '[ "$stored" -le "$sent" ] && [ $((stored - accepted)) -le "$unanswered" ]' "boletas guardadas que nadie envió"
if [ "$stored" -eq "$accepted" ]; then
  echo "aceptadas == guardadas: $accepted"
else
  echo "guardadas − aceptadas = $((stored - accepted)): peticiones en vuelo cuando wrk cortó (sin respuesta leída: $unanswered)"
fi
if [ "$rate" -lt "$TARGET" ]; then echo "objetivo no alcanzado: $rate < $TARGET boletas/s"; fi
[ "$fail" -eq 0 ] && echo "recuento correcto: ninguna boleta perdida ni duplicada" || exit 1
