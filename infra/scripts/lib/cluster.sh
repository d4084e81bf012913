# Sourced by the scripts that run a local cluster of their own (chaos.sh, load.sh): its ports, environment, token and
# helpers, in one place. After `cluster_setup NAME REDIS_PORT SHIFT` (from the repository root):
#   ports        loopback, each overridable as in local-cluster.sh: Redis REDIS_PORT, Azurite 20000+SHIFT, silos
#                21111+SHIFT.., gateways 40000+SHIFT.., HTTP 25180+SHIFT.., data plane 22001+SHIFT..; 3 silos
#   state, logs  TESSERA_LOCAL_CLUSTER_DIR (default /tmp/tessera-NAME), in $dir
#   $tessera     the tessera command (TESSERA_BIN, default the Release build; cluster_build builds it if missing)
#   $gateways    every silo's gateway, comma-separated, for --gateway
#   TESSERA_TOKEN  a fresh cluster token, exported for the silos, tessera and curl
#   cluster ARGS   local-cluster.sh ARGS (up, down, kill N, start N) under nice; cluster_keep_token writes the token
#                  to $dir/token once it is up
#   api N PATH [curl args]   the HTTP API of silo N; api_any PATH: of the first silo that answers
#   alive N        whether silo N's process runs
# The silos run with one libtorch thread each (DOTNET_PROCESSOR_COUNT=1): three silos share this machine's cores.
# shellcheck shell=bash

cluster_setup() {
  local name=$1 redis=$2 shift=$3
  export TESSERA_LOCAL_CLUSTER_DIR=${TESSERA_LOCAL_CLUSTER_DIR:-/tmp/tessera-$name}
  export REDIS_PORT=${REDIS_PORT:-$redis} AZURITE_BLOB_PORT=${AZURITE_BLOB_PORT:-$((20000 + shift))}
  export SILO_PORT_BASE=${SILO_PORT_BASE:-$((21111 + shift))} GATEWAY_BASE=${GATEWAY_BASE:-$((40000 + shift))}
  export HTTP_BASE=${HTTP_BASE:-$((25180 + shift))} COLLECTIVE_BASE=${COLLECTIVE_BASE:-$((22001 + shift))} SILOS=3
  export DOTNET_PROCESSOR_COUNT=${DOTNET_PROCESSOR_COUNT:-1}
  export TESSERA_CLUSTER_ID=local
  TESSERA_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  export TESSERA_TOKEN
  dir=$TESSERA_LOCAL_CLUSTER_DIR
  tessera=${TESSERA_BIN:-client/Tessera.Cli/bin/Release/net10.0/tessera}
  gateways=$(seq -s, "$GATEWAY_BASE" $((GATEWAY_BASE + SILOS - 1)))
}

cluster() { nice -n 19 bash infra/scripts/local-cluster.sh "$@"; }

# After `cluster up`: the token in $dir/token (readable by this user only), so a cluster left up (--keep) can be used.
cluster_keep_token() { (umask 077 && echo "$TESSERA_TOKEN" > "$dir/token"); }

cluster_build() {
  [ -x "$tessera" ] || { echo "building the tessera command" >&2; nice -n 19 dotnet build client/Tessera.Cli -c Release -nologo -clp:ErrorsOnly; }
}

api() {
  local n=$1 path=$2; shift 2
  curl -sf --max-time 10 -H "Authorization: Bearer $TESSERA_TOKEN" "$@" "http://127.0.0.1:$((HTTP_BASE + n - 1))$path"
}

api_any() {
  local n
  for n in $(seq "$SILOS"); do api "$n" "$1" && return 0; done
  return 1
}

alive() { [ -s "$dir/silo-$1.pid" ] && kill -0 "$(cat "$dir/silo-$1.pid")" 2>/dev/null; }

# Stage restarts (max_restarts) and re-forms off a dead silo, counted in the silos' logs.
cluster_restarts() { cat "$dir"/silo-*/logs/*.log 2>/dev/null | grep -c "restarting the stage from its last checkpoint (restart" || true; }
cluster_reforms() { cat "$dir"/silo-*/logs/*.log 2>/dev/null | grep -c "re-forms on other slots from its last checkpoint" || true; }
