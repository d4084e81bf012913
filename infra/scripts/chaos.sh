#!/usr/bin/env bash
# Chaos run: a local cluster (Redis, Azurite, 3 silos with fault injection on; infra/scripts/local-cluster.sh), one
# multi-stage workflow (infra/chaos/chaos.yaml), and while it runs, at seeded random times, N kills of a random kind:
#   silo  SIGKILL a random silo process, then start it again (capacity returns)
#   rank  fail a random running trainer rank through POST /api/faults/kill-rank (its worker dies, its silo stays)
# At the end it checks, and prints: the workflow succeeded; every stage completed exactly once and every training
# stage ran to its step count (from the stage results); no artifact in the blob store is corrupt (`tessera store
# verify` re-reads every one against its recorded SHA-256). Exit 0 only if every check passes.
#
#   bash infra/scripts/chaos.sh [--seed 1] [--kills 10] [--spec infra/chaos/chaos.yaml] [--gap 8-25] [--timeout 3600] [--keep]
#
# --gap MIN-MAX: seconds between kills, drawn uniformly. --keep leaves the cluster up (and its logs) afterwards.
# Ports (loopback) are the local cluster's, moved so a chaos run never meets a local-cluster.sh one: Redis 26379,
# Azurite 20000, silos 21111+, gateways 40000+, HTTP 25180+, data plane 22001+ (each overridable as in
# local-cluster.sh; infra/scripts/lib/cluster.sh sets them up). State and logs: TESSERA_LOCAL_CLUSTER_DIR (default
# /tmp/tessera-chaos). TESSERA_BIN runs another build of tessera (default: client/Tessera.Cli/bin/Release/net10.0/tessera).
# The silos run with one libtorch thread each (DOTNET_PROCESSOR_COUNT=1): three silos share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib/cluster.sh
source infra/scripts/lib/cluster.sh

seed=1 kills=10 spec=infra/chaos/chaos.yaml gap=8-25 timeout=3600 keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed=$2; shift 2 ;;
    --kills) kills=$2; shift 2 ;;
    --spec) spec=$2; shift 2 ;;
    --gap) gap=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    *) echo "chaos.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ $seed =~ ^[0-9]+$ ]] || { echo "chaos.sh: --seed must be a whole number, got '$seed'" >&2; exit 2; }
[[ $kills =~ ^[0-9]+$ ]] || { echo "chaos.sh: --kills must be a whole number, got '$kills'" >&2; exit 2; }
[[ $gap =~ ^([0-9]+)-([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -le "${BASH_REMATCH[2]}" ] \
  || { echo "chaos.sh: --gap must be MIN-MAX seconds, got '$gap'" >&2; exit 2; }
gap_min=${BASH_REMATCH[1]} gap_max=${BASH_REMATCH[2]}
[ -f "$spec" ] || { echo "chaos.sh: --spec $spec: no such file" >&2; exit 2; }

# One token for the silos and every client call (tessera and curl): the fault endpoints sit behind it.
cluster_setup chaos 26379 0
export SILO_ARGS="--enable-fault-injection"

say() { echo "chaos.sh [$(date -u +%H:%M:%S)] $*" >&2; }
cleanup() {
  if $keep; then say "--keep: cluster left up in $dir, its token in $dir/token ('bash infra/scripts/local-cluster.sh down' with the same TESSERA_LOCAL_CLUSTER_DIR stops it)"
  else cluster down >/dev/null 2>&1 || true; fi
}

# The experiment as any live silo answers for it (grain calls to a just-killed silo may time out: try the next).
experiment_json() {
  for n in $(seq $SILOS); do alive "$n" && api "$n" "/api/experiments/$id" && return 0; done
  return 1
}

silo_kills=0 rank_kills=0 kills_done=0
kill_silo() {
  local n=$((1 + RANDOM % SILOS))
  alive "$n" || return 1
  say "kill $((kills_done + 1))/$kills: SIGKILL silo $n (pid $(cat "$dir/silo-$n.pid"))"
  cluster kill "$n" 2>/dev/null
  cluster start "$n" 2>/dev/null
  say "silo $n is up again"
  silo_kills=$((silo_kills + 1))
}
kill_rank() {
  local ranks=() n line
  for n in $(seq $SILOS); do
    alive "$n" || continue
    while IFS= read -r line; do [ -n "$line" ] && ranks+=("$n $line"); done \
      < <(api "$n" /api/faults/ranks | jq -r '.[] | "\(.experiment) \(.stage_index) \(.rank) \(.generation)"' 2>/dev/null || true)
  done
  [ ${#ranks[@]} -gt 0 ] || return 1
  read -r n experiment stage rank generation <<< "${ranks[RANDOM % ${#ranks[@]}]}"
  say "kill $((kills_done + 1))/$kills: fail rank $rank of stage $stage (generation $generation) on silo $n"
  api "$n" "/api/faults/kill-rank?experiment=$experiment&stage=$stage&rank=$rank" -X POST >/dev/null || return 1
  rank_kills=$((rank_kills + 1))
}

cluster_build
RANDOM=$seed
trap cleanup EXIT
trap "exit 130" INT TERM
say "starting the local cluster in $dir"
cluster up >/dev/null
cluster_keep_token
started=$(date +%s)
id=$(nice -n 19 "$tessera" submit "$spec" --gateway "$gateways" | tail -1)
say "submitted $id ($spec); seed $seed, $kills kills, $gap s apart"

next_kill=$((started + gap_min + RANDOM % (gap_max - gap_min + 1)))
state=unknown
while true; do
  now=$(date +%s)
  [ $((now - started)) -lt "$timeout" ] || { say "timed out after $timeout s (state $state)"; break; }
  if json=$(experiment_json); then
    state=$(jq -r .state <<< "$json")
    case $state in succeeded | failed | cancelled | interrupted) break ;; esac
  fi
  if [ "$kills_done" -lt "$kills" ] && [ "$now" -ge "$next_kill" ]; then
    if [ $((RANDOM % 2)) -eq 0 ]; then kind=silo; else kind=rank; fi
    if { [ $kind = silo ] && kill_silo; } || { [ $kind = rank ] && kill_rank; }; then
      kills_done=$((kills_done + 1))
      next_kill=$(($(date +%s) + gap_min + RANDOM % (gap_max - gap_min + 1)))
    else
      next_kill=$((now + 2)) # nothing to kill of that kind right now (between stages): draw again shortly
    fi
  fi
  sleep 1
done
wall=$(($(date +%s) - started))

# --- checks ---------------------------------------------------------------------------------------------------------
failures=()
json=$(experiment_json || echo '{}')
state=$(jq -r '.state // "unknown"' <<< "$json")
[ "$state" = succeeded ] || failures+=("workflow state is '$state': $(jq -r '.error // ""' <<< "$json")")
[ "$kills_done" -ge "$kills" ] || failures+=("the workflow ended after $kills_done of $kills kills (make it longer or the gaps shorter)")

# Expected stages and step counts, from the spec: each '- kind:' starts a stage, named by 'name:' or its kind.
mapfile -t expected < <(awk '
  /^[[:space:]]*-[[:space:]]*kind:/ { if (kind != "") print (name != "" ? name : kind), steps; kind = $NF; name = ""; steps = "-" }
  /^[[:space:]]+name:/ && kind != "" { name = $2 }
  /^[[:space:]]+steps:/ && kind != "" { steps = $2 }
  END { if (kind != "") print (name != "" ? name : kind), steps }' "$spec")
stage_lines=()
for line in "${expected[@]}"; do
  read -r stage steps <<< "$line"
  runs=$(jq --arg s "$stage" '[.stages[]? | select(.name == $s and .state == "succeeded")] | length' <<< "$json")
  ran=$(jq -r --arg s "$stage" '[.stages[]? | select(.name == $s)][0].metrics.steps // "-"' <<< "$json")
  resumed=$(jq -r --arg s "$stage" '[.stages[]? | select(.name == $s)][0].metrics.resumed_from_step // 0' <<< "$json")
  stage_lines+=("$(printf '  %-12s completed %s time(s), steps %s of %s, resumed from step %s' "$stage" "$runs" "$ran" "$steps" "$resumed")")
  [ "$runs" -eq 1 ] || failures+=("stage '$stage' completed $runs times, not once")
  [ "$steps" = - ] || [ "$ran" = "$steps" ] || failures+=("stage '$stage' ran $ran steps, its spec says $steps")
done

# shellcheck disable=SC1091
source "$dir/services/env"
verify=$(TESSERA_BLOB=$TESSERA_TEST_BLOB nice -n 19 "$tessera" store verify 2>&1) && verified=ok || verified=failed
[ $verified = ok ] || failures+=("store verify: $(grep -v '^store verify:' <<< "$verify" | head -5)")
checkpoints=$(TESSERA_BLOB=$TESSERA_TEST_BLOB nice -n 19 "$tessera" store verify --prefix "$id/checkpoints/" 2>&1 | grep '^store verify:' || true)

restarts=$(cluster_restarts)
reforms=$(cluster_reforms)

cat <<EOF

chaos run $id (seed $seed, spec $spec)
  wall time            ${wall} s
  kills                $kills_done (silo SIGKILL + restart: $silo_kills, trainer rank failed: $rank_kills)
  stage restarts       $restarts after a failure (max_restarts), $reforms re-forms off a dead silo (from the silos' logs)
  workflow             $state
$(printf '%s\n' "${stage_lines[@]}")
  artifact store       $(grep '^store verify:' <<< "$verify" || echo "$verify")
  under $id/checkpoints/  ${checkpoints#store verify: }
EOF
if [ ${#failures[@]} -gt 0 ]; then
  printf 'FAILED:\n' ; printf '  - %s\n' "${failures[@]}"
  exit 1
fi
echo "PASSED: workflow completed, every stage ran once to its step count, 0 corrupt artifacts"
