# Shared by the benchmark scripts (sourced, not run).

# A TCP port on 127.0.0.1 that nothing listens on now. It is taken below the ephemeral range
# (32768+) so that no client socket of the load can be holding it; the servers fail fast if one
# is taken in between, and the health checks then stop the run.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    ss -Htln "sport = :$port" 2>/dev/null | grep -q . && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    echo "$port"
    return
  done
}

# Waits up to 30 s for `url` to answer; fails early if the process `pid` exits. The caller's
# $out holds the process's log as $out/<name>.log.
wait_http() {  # url pid name
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 terminó al arrancar; ver $out/$3.log" >&2; return 1; }
    sleep 0.1
  done
  echo "$3 no respondió en 30 s" >&2
  return 1
}
