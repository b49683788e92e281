#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for tests.
#
#   scripts/pg-test-cluster.sh start DIR          creates and starts a cluster in DIR, creates the
#                                                 database abierto_test and prints its URL
#   scripts/pg-test-cluster.sh createdb DIR NAME  creates another database in that cluster
#   scripts/pg-test-cluster.sh stop DIR           stops the cluster and removes DIR
#
# The cluster listens on 127.0.0.1 only, on a free port chosen at start, with trust
# authentication, and keeps its socket inside DIR. It never touches the clusters that the
# Debian package manages (pg_lsclusters). fsync is off: the data is disposable.
#
# initdb and postgres refuse to run as root, so as root the server runs as the `postgres`
# system user (created by the postgresql package) and DIR is handed to it.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
MARKER=.abierto-pg-test-cluster

die() {
  echo "pg-test-cluster: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start DIR | stop DIR | createdb DIR NAME" >&2
  exit 2
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  # A successful connect means something already listens there.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
  local dir=$1
  [ -x "$PG_BIN/initdb" ] || die "no se encontró $PG_BIN/initdb (¿está instalado el paquete postgresql?)"
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    die "$dir existe y no está vacío"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  touch "$dir/$MARKER"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "no existe el usuario del sistema postgres"
    chown -R postgres: "$dir"
    as_pg test -w "$dir" || die "el usuario postgres no puede escribir en $dir (revise los permisos de los directorios padre)"
  fi
  # Unix socket paths are limited to about 107 bytes.
  if [ ${#dir} -gt 80 ]; then
    die "la ruta $dir es demasiado larga para el socket de PostgreSQL"
  fi

  as_pg "$PG_BIN/initdb" -D "$dir/data" --auth=trust --username=postgres --encoding=UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb falló"
  }
  cat >"$dir/data/pg_hba.conf" <<'HBA'
local all all trust
host  all all 127.0.0.1/32 trust
HBA
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir/data/pg_hba.conf"; fi

  local attempt port started=0
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    # If another process takes the port between the check and the start, the server fails
    # to bind and we try another one.
    if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >>"$dir/pg_ctl.log" 2>&1; then
      started=1
      break
    fi
  done
  if [ "$started" != 1 ]; then
    cat "$dir/server.log" >&2 || true
    die "no se pudo iniciar el servidor"
  fi
  echo "$port" >"$dir/port"
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres abierto_test >&2 ||
    die "createdb abierto_test falló"
  echo "postgresql://postgres@127.0.0.1:$port/abierto_test"
}

cmd_createdb() {
  local dir=$1 name=$2
  [ -f "$dir/port" ] || die "$dir no es un clúster iniciado por este script"
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U postgres "$name" >&2
  echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/$name"
}

cmd_stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  # Refuse to delete anything this script did not create.
  [ -f "$dir/$MARKER" ] || die "$dir no fue creado por este script; no se borra"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$dir"
}

[ $# -ge 2 ] || usage
case $1 in
  start) [ $# -eq 2 ] || usage; cmd_start "$2" ;;
  stop) [ $# -eq 2 ] || usage; cmd_stop "$2" ;;
  createdb) [ $# -eq 3 ] || usage; cmd_createdb "$2" "$3" ;;
  *) usage ;;
esac
