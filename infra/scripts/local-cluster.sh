#!/usr/bin/env bash
# Cluster mode on one machine: Redis and Azurite (services.sh, installing them where missing) and 3 silos on
# loopback, each in its own process with its own ports.
#
#   bash infra/scripts/local-cluster.sh up        start everything, print how to use it
#   bash infra/scripts/local-cluster.sh down      stop the silos (gracefully), then Redis and Azurite; data is deleted
#   bash infra/scripts/local-cluster.sh kill N    SIGKILL silo N (1-3), as a node dying would
#   bash infra/scripts/local-cluster.sh start N   start silo N again
#
# Fixed ports on loopback, each overridable: Redis REDIS_PORT=16379, Azurite blob AZURITE_BLOB_PORT=10000; silo N
# (1, 2, 3) takes base + N - 1 of SILO_PORT_BASE=11111, GATEWAY_BASE=30000, HTTP_BASE=5180 (its dashboard) and
# COLLECTIVE_BASE=12001 (its data plane). SILOS (default 3) and SLOTS (default: one per 2 cores) change the shape;
# SILO_ARGS adds flags to every silo (e.g. --enable-fault-injection, as infra/scripts/chaos.sh does); TESSERA_BIN runs
# another build of tessera.
# State, logs and pids live in TESSERA_LOCAL_CLUSTER_DIR (default /tmp/tessera-local-cluster).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=${TESSERA_LOCAL_CLUSTER_DIR:-/tmp/tessera-local-cluster}
silos=${SILOS:-3}
tessera=${TESSERA_BIN:-client/Tessera.Cli/bin/Release/net10.0/tessera}
export REDIS_PORT=${REDIS_PORT:-16379} AZURITE_BLOB_PORT=${AZURITE_BLOB_PORT:-10000}
silo_base=${SILO_PORT_BASE:-11111} gateway_base=${GATEWAY_BASE:-30000} http_base=${HTTP_BASE:-5180} collective_base=${COLLECTIVE_BASE:-12001}

say() { echo "local-cluster.sh: $*" >&2; }
die() { say "$*"; exit 1; }

start_silo() {
  local n=$1
  [ -s "$dir/silo-$n.pid" ] && kill -0 "$(cat "$dir/silo-$n.pid")" 2>/dev/null && die "silo $n is already running"
  # shellcheck disable=SC1091
  source "$dir/services/env"
  mkdir -p "$dir/silo-$n"
  # Emptied here, not by the redirection below: that runs in the background child, and wait_silo could otherwise still
  # find the previous run's "silo up" in the old log and call a restarted silo up before it is.
  : > "$dir/silo-$n.log"
  # Connection strings go by environment, not by argument, so they stay out of `ps`.
  TESSERA_REDIS=$TESSERA_TEST_REDIS TESSERA_BLOB=$TESSERA_TEST_BLOB TESSERA_CLUSTER_ID=local \
    nohup "$tessera" silo --runs "$dir/silo-$n" --port $((silo_base + n - 1)) --gateway $((gateway_base + n - 1)) \
      --http $((http_base + n - 1)) --collective $((collective_base + n - 1)) ${SLOTS:+--slots "$SLOTS"} ${SILO_ARGS:-} </dev/null >>"$dir/silo-$n.log" 2>&1 &
  echo $! > "$dir/silo-$n.pid"
}

wait_silo() {
  local n=$1
  for _ in $(seq 240); do
    grep -q "silo up" "$dir/silo-$n.log" 2>/dev/null && return
    kill -0 "$(cat "$dir/silo-$n.pid")" 2>/dev/null || { tail -20 "$dir/silo-$n.log" >&2; die "silo $n exited (log: $dir/silo-$n.log)"; }
    sleep 0.5
  done
  die "silo $n did not come up within 120 s (log: $dir/silo-$n.log)"
}

up() {
  [ -d "$dir/services" ] && die "a local cluster is already up in $dir; run '$0 down' first"
  [ -x "$tessera" ] || { say "building the tessera command"; dotnet build client/Tessera.Cli -c Release -nologo -clp:ErrorsOnly; }
  mkdir -p "$dir"
  bash infra/scripts/services.sh up "$dir/services" >/dev/null
  for n in $(seq "$silos"); do start_silo "$n"; done
  for n in $(seq "$silos"); do wait_silo "$n"; done
  local gateways
  gateways=$(seq -s, "$gateway_base" $((gateway_base + silos - 1)))
  cat <<EOF
local cluster 'local' up: $silos silos, Redis 127.0.0.1:$REDIS_PORT, Azurite blob 127.0.0.1:$AZURITE_BLOB_PORT (state in $dir)
dashboards: $(for n in $(seq "$silos"); do printf 'http://127.0.0.1:%s/ ' $((http_base + n - 1)); done)

  export TESSERA_CLUSTER_ID=local
  $tessera submit examples/quickstart.yaml --gateway $gateways
  $tessera list --gateway $gateways
  $tessera cluster --gateway $gateways

  bash $0 kill 2      # SIGKILL a silo; 'start 2' brings it back
  bash $0 down
EOF
}

stop_pid() {
  local file=$1 signal=$2 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  rm -f "$file"
  kill "-$signal" "$pid" 2>/dev/null || return 0
  # A graceful stop hands the silo's grains over and leaves the membership: give it 30 s.
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  [ -d "$dir" ] || { say "no local cluster in $dir"; return; }
  for file in "$dir"/silo-*.pid; do [ -e "$file" ] && stop_pid "$file" TERM; done
  bash infra/scripts/services.sh down "$dir/services"
  rm -rf "$dir"
  say "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  kill) [ -n "${2:-}" ] || die "usage: $0 kill N"; stop_pid "$dir/silo-$2.pid" KILL; say "silo $2 killed" ;;
  start) [ -n "${2:-}" ] || die "usage: $0 start N"; start_silo "$2"; wait_silo "$2"; say "silo $2 up" ;;
  *) die "usage: $0 up|down|kill N|start N" ;;
esac
