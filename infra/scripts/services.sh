#!/usr/bin/env bash
# Redis and Azurite (blob service) on loopback, for the tests (infra/scripts/test.sh) and the local cluster
# (infra/scripts/local-cluster.sh). Installs what is missing first: Debian's redis-server (apt) and Azurite from npm.
#
#   bash infra/scripts/services.sh up STATE_DIR     start both; writes STATE_DIR/env (shell exports) and prints it
#   bash infra/scripts/services.sh down STATE_DIR   stop both (by the pids in STATE_DIR) and delete STATE_DIR
#
# Ports: REDIS_PORT and AZURITE_BLOB_PORT when set, else free ports picked at random (so a test run never meets a
# local cluster or another run). Data and logs live in STATE_DIR. STATE_DIR/env exports
#   TESSERA_TEST_REDIS  StackExchange.Redis connection string, e.g. 127.0.0.1:23456
#   TESSERA_TEST_BLOB   Azure Storage connection string of Azurite's well-known development account
set -euo pipefail

AZURITE_VERSION=3.35.0   # 3.36 and newer need Node 21; Debian 12's machines here have Node 20
TOOLS=${TESSERA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera-tools}
AZURITE_DIR=$TOOLS/azurite-$AZURITE_VERSION
# Azurite's fixed development account (documented by Microsoft, not a secret).
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

say() { echo "services.sh: $*" >&2; }
die() { say "$*"; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_redis() {
  command -v redis-server >/dev/null && return
  say "installing Debian's redis-server"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

install_azurite() {
  [ -x "$AZURITE_DIR/node_modules/.bin/azurite-blob" ] && return
  command -v npm >/dev/null || die "npm (Node 20) is required to install Azurite $AZURITE_VERSION"
  say "installing Azurite $AZURITE_VERSION from npm into $AZURITE_DIR"
  mkdir -p "$AZURITE_DIR"
  npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >&2
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    port_in_use "$port" || { echo "$port"; return; }
  done
  die "found no free port on 127.0.0.1"
}

# wait_for NAME PORT LOG PID: until PORT accepts connections, at most 60 s; on failure show the log.
wait_for() {
  for _ in $(seq 600); do
    port_in_use "$2" && return
    kill -0 "$4" 2>/dev/null || { tail -20 "$3" >&2; die "$1 exited before listening on 127.0.0.1:$2 (log: $3)"; }
    sleep 0.1
  done
  tail -20 "$3" >&2
  die "$1 did not listen on 127.0.0.1:$2 within 60 s (log: $3)"
}

up() {
  local state=$1
  [ -f "$state/env" ] && die "$state already holds running services; run 'down $state' first"
  install_redis
  install_azurite
  mkdir -p "$state/redis" "$state/azurite"
  local redis_port=${REDIS_PORT:-$(free_port)} blob_port=${AZURITE_BLOB_PORT:-$(free_port)}
  port_in_use "$redis_port" && die "127.0.0.1:$redis_port (REDIS_PORT) is already in use"
  port_in_use "$blob_port" && die "127.0.0.1:$blob_port (AZURITE_BLOB_PORT) is already in use"

  # No snapshots: the state only has to outlive silo restarts, not a restart of Redis itself.
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$state/redis" --save "" --appendonly no \
    --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log"
  for _ in $(seq 50); do [ -s "$state/redis.pid" ] && break; sleep 0.1; done
  wait_for redis-server "$redis_port" "$state/redis.log" "$(cat "$state/redis.pid")"

  # --skipApiVersionCheck: Azure.Storage.Blobs may speak a newer REST version than this Azurite knows.
  nohup "$AZURITE_DIR/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$blob_port" \
    --location "$state/azurite" --skipApiVersionCheck --silent </dev/null >"$state/azurite.log" 2>&1 &
  echo $! > "$state/azurite.pid"
  wait_for azurite-blob "$blob_port" "$state/azurite.log" "$(cat "$state/azurite.pid")"

  cat > "$state/env" <<EOF
export TESSERA_TEST_REDIS='127.0.0.1:$redis_port'
export TESSERA_TEST_BLOB='DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$blob_port/$AZURITE_ACCOUNT;'
EOF
  say "redis on 127.0.0.1:$redis_port, azurite blob on 127.0.0.1:$blob_port (state in $state)"
  cat "$state/env"
}

stop_pid() {
  local file=$1 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

down() {
  local state=$1
  [ -d "$state" ] || return 0
  stop_pid "$state/azurite.pid"
  stop_pid "$state/redis.pid"
  rm -rf "$state"
}

case "${1:-}" in
  up) [ $# -eq 2 ] || die "usage: services.sh up STATE_DIR"; up "$2" ;;
  down) [ $# -eq 2 ] || die "usage: services.sh down STATE_DIR"; down "$2" ;;
  *) die "usage: services.sh up|down STATE_DIR" ;;
esac
