#!/usr/bin/env bash
# Load run: a local cluster (Redis, Azurite, 3 silos; infra/scripts/local-cluster.sh, as chaos.sh starts it) and N
# small one-stage experiments (infra/load/load.yaml) submitted at once: N `tessera submit` processes started together
# with & and wait, spread over 3 teams and 3 priorities. A poller reads GET /api/experiments every second until no
# experiment is pending or running. At the end it prints, and checks:
#   accepted     submissions that printed an experiment id
#   refused      submissions that exited non-zero, with their error lines (each must say why, e.g. a quota)
#   completed    experiments that succeeded (accepted or taken unacknowledged); failed ones counted by their error
#   lost         accepted ids the cluster does not know, or that never finished (still pending/running at --timeout)
#   duplicated   experiments whose stage completed more than once (from each one's GET /api/experiments/{id}: its
#                stages and its completed-stage count), and ids the cluster lists more than once
#   taken unacknowledged   experiments the cluster has that no successful submit printed (the client timed out)
#   queue        the peak number of pending experiments and the seconds from the first submit until none is pending
#                or running (drain)
# Exit 0 only if nothing is lost, duplicated or failed.
#
#   bash infra/scripts/load.sh [--n 200] [--spec infra/load/load.yaml] [--timeout 3600] [--keep]
#
# Ports (loopback) are moved off local-cluster.sh's and chaos.sh's: Redis 36379, Azurite 20100, silos 21211+,
# gateways 40100+, HTTP 25280+, data plane 22101+ (each overridable as in local-cluster.sh). State and logs:
# TESSERA_LOCAL_CLUSTER_DIR (default /tmp/tessera-load). SLOTS: slots a silo (default 4). TESSERA_BIN runs another build of tessera.
set -euo pipefail
cd "$(dirname "$0")/../.."

n=200 spec=infra/load/load.yaml timeout=3600 keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --n) n=$2; shift 2 ;;
    --spec) spec=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    *) echo "load.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "load.sh: --n must be a whole number above 0, got '$n'" >&2; exit 2; }
[[ $timeout =~ ^[1-9][0-9]*$ ]] || { echo "load.sh: --timeout must be whole seconds above 0, got '$timeout'" >&2; exit 2; }
[ -f "$spec" ] || { echo "load.sh: --spec $spec: no such file" >&2; exit 2; }
for key in experiment team priority; do
  [ "$(grep -c "^$key:" "$spec")" = 1 ] || { echo "load.sh: --spec $spec: needs exactly one top-level '$key:' line" >&2; exit 2; }
done

export TESSERA_LOCAL_CLUSTER_DIR=${TESSERA_LOCAL_CLUSTER_DIR:-/tmp/tessera-load}
export REDIS_PORT=${REDIS_PORT:-36379} AZURITE_BLOB_PORT=${AZURITE_BLOB_PORT:-20100}
export SILO_PORT_BASE=${SILO_PORT_BASE:-21211} GATEWAY_BASE=${GATEWAY_BASE:-40100} HTTP_BASE=${HTTP_BASE:-25280}
export COLLECTIVE_BASE=${COLLECTIVE_BASE:-22101} SILOS=3
# Four slots a silo (not one a 2 cores): the load experiments are one tiny single-threaded stage each, and the run is
# about the control plane, so twelve may run at once.
export SLOTS=${SLOTS:-4}
export DOTNET_PROCESSOR_COUNT=${DOTNET_PROCESSOR_COUNT:-1}
export TESSERA_CLUSTER_ID=local
TESSERA_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export TESSERA_TOKEN
dir=$TESSERA_LOCAL_CLUSTER_DIR
tessera=${TESSERA_BIN:-client/Tessera.Cli/bin/Release/net10.0/tessera}
cluster() { nice -n 19 bash infra/scripts/local-cluster.sh "$@"; }
gateways=$(seq -s, "$GATEWAY_BASE" $((GATEWAY_BASE + SILOS - 1)))
work=$(mktemp -d /tmp/tessera-load-run.XXXXXX)

say() { echo "load.sh [$(date -u +%H:%M:%S)] $*" >&2; }
poller=
cleanup() {
  [ -z "$poller" ] || kill "$poller" 2>/dev/null || true
  if $keep; then say "--keep: cluster left up in $dir, submissions in $work ('bash infra/scripts/local-cluster.sh down' with the same TESSERA_LOCAL_CLUSTER_DIR stops it)"
  else cluster down >/dev/null 2>&1 || true; rm -rf "$work"; fi
}
api() { # api PATH: the HTTP API of the first silo that answers
  local s
  for s in $(seq $SILOS); do
    curl -sf --max-time 30 -H "Authorization: Bearer $TESSERA_TOKEN" "http://127.0.0.1:$((HTTP_BASE + s - 1))$1" && return 0
  done
  return 1
}

# Three teams and three priorities, so the scheduler's ordering and per-team bookkeeping are in the load too.
teams=(vision audio text) priorities=(0 10 -5)
for i in 0 1 2; do
  sed -e "s/^experiment:.*/experiment: load-${teams[i]}/" -e "s/^team:.*/team: ${teams[i]}/" \
      -e "s/^priority:.*/priority: ${priorities[i]}/" "$spec" > "$work/spec-$i.yaml"
done

[ -x "$tessera" ] || { say "building the tessera command"; nice -n 19 dotnet build client/Tessera.Cli -c Release -nologo -clp:ErrorsOnly; }
trap cleanup EXIT
trap "exit 130" INT TERM
say "starting the local cluster in $dir"
cluster up >/dev/null

# The poller: one line a second, "<seconds since the submits began> <pending> <running> <finished>".
started=$(date +%s.%N)
(
  while true; do
    if list=$(api /api/experiments); then
      jq -r --arg t "$(echo "$(date +%s.%N) - $started" | bc)" \
        '[.experiments[].state] | "\($t) \(map(select(. == "pending")) | length) \(map(select(. == "running")) | length) \(length)"' \
        <<< "$list" >> "$work/queue.log" || true
    fi
    sleep 1
  done
) &
poller=$!

say "submitting $n experiments at once"
# A .NET host watches its appsettings files through inotify by default; 200 CLI processes at once pass this machine's
# limit of 128 inotify instances a user and fail ("The configured user limit (128) on the number of inotify instances
# has been reached"). A submit has no use for a config reload, so the watch is switched off for these processes.
for i in $(seq "$n"); do
  DOTNET_hostBuilder__reloadConfigOnChange=false nice -n 19 "$tessera" submit "$work/spec-$((i % 3)).yaml" --gateway "$gateways" > "$work/submit-$i.out" 2> "$work/submit-$i.err" &
done
submit_failures=0
for job in $(jobs -p); do
  [ "$job" = "$poller" ] && continue
  wait "$job" || submit_failures=$((submit_failures + 1))
done
submitted=$(echo "$(date +%s.%N) - $started" | bc)
say "all $n submit commands returned after $(printf %.1f "$submitted") s ($submit_failures non-zero)"

ids=() refusals=()
for i in $(seq "$n"); do
  id=$(tail -1 "$work/submit-$i.out" 2>/dev/null || true)
  if [[ $id =~ ^load- ]]; then ids+=("$id")
  else refusals+=("$(cat "$work/submit-$i.out" "$work/submit-$i.err" | tr '\n' ' ' | sed -E 's/ for message: Request \[[^]]*\]->\[[^]]*\] +Tessera\.Grains\.(I[A-Za-z]+Grain)(\[[^]]*\])?\.([A-Za-z]+)\(.*/ for \1.\3/' | cut -c1-160)"); fi
done

# Wait for the drain: every accepted experiment known and none pending or running.
drained=false
while true; do
  elapsed=$(echo "$(date +%s.%N) - $started" | bc)
  last=$(tail -1 "$work/queue.log" 2>/dev/null || true)
  if [ -n "$last" ]; then
    read -r _ pending running known <<< "$last"
    if [ "$pending" = 0 ] && [ "$running" = 0 ] && [ "$known" -ge ${#ids[@]} ]; then drained=true; break; fi
  fi
  [ "${elapsed%.*}" -lt "$timeout" ] || { say "timed out after $timeout s (last poll: $last)"; break; }
  sleep 2
done
kill "$poller" 2>/dev/null || true; wait "$poller" 2>/dev/null || true; poller=
drain=$(awk '$2 == 0 && $3 == 0 { t = $1 } $2 > 0 || $3 > 0 { t = "" } END { print t }' "$work/queue.log")
peak=$(awk '$2 > p { p = $2 } END { print p + 0 }' "$work/queue.log")
peak_running=$(awk '$3 > p { p = $3 } END { print p + 0 }' "$work/queue.log")

# --- checks, from each experiment's own state -----------------------------------------------------------------------
stages=$(grep -c '^[[:space:]]*-[[:space:]]*kind:' "$spec")
list=$(api /api/experiments || echo '{"experiments":[]}')
# Experiments the cluster took though their submit command saw an error (a reply that came after the client's 30 s
# timeout): not lost, but a user retrying that command would start a second one. They are checked like the rest.
mapfile -t unacknowledged < <(jq -r '.experiments[] | select(.id | startswith("load-")) | .id' <<< "$list" \
  | grep -vxF -f <(printf '%s\n' "${ids[@]}") || true)
completed=0 lost=() failed=() duplicated=()
for id in "${ids[@]}" "${unacknowledged[@]}"; do
  [ -n "$id" ] || continue
  listed=$(jq --arg id "$id" '[.experiments[] | select(.id == $id)] | length' <<< "$list")
  [ "$listed" -le 1 ] || duplicated+=("$id is listed $listed times")
  if ! json=$(api "/api/experiments/$id"); then lost+=("$id: the cluster does not know it"); continue; fi
  state=$(jq -r .state <<< "$json")
  case $state in
    succeeded) completed=$((completed + 1)) ;;
    failed | cancelled | interrupted) failed+=("$state: $(jq -r '.error // ""' <<< "$json" | head -1 | sed -E 's/ for message: Request \[[^]]*\]->\[[^]]*\] +Tessera\.Grains\.(I[A-Za-z]+Grain)(\[[^]]*\])?\.([A-Za-z]+)\(.*/ for \1.\3/' | cut -c1-160)") ;;
    *) lost+=("$id: still $state") ;;
  esac
  runs=$(jq '[.stages[] | select(.state == "succeeded")] | length' <<< "$json")
  names=$(jq '[.stages[] | select(.state == "succeeded") | .name] | unique | length' <<< "$json")
  [ "$runs" -le "$stages" ] && [ "$runs" = "$names" ] || duplicated+=("$id: $runs stage completions for $stages stage(s): $(jq -c '[.stages[].name]' <<< "$json")")
done
if [ -n "$drain" ]; then drained_text="after $(printf %.0f "$drain") s"; else drained_text="never (timed out)"; fi
refused_text=$( [ ${#refusals[@]} -eq 0 ] || printf '%s\n' "${refusals[@]}" | sort | uniq -c | sed 's/^/    /' | head -10)
failed_text=$( [ ${#failed[@]} -eq 0 ] || printf '%s\n' "${failed[@]}" | sort | uniq -c | sed 's/^/    /' | head -10)
restarts=$(cat "$dir"/silo-*/logs/*.log 2>/dev/null | grep -c "restarting the stage from its last checkpoint (restart" || true)

cat <<EOF

load run: $n concurrent submissions of $spec (teams ${teams[*]}, priorities ${priorities[*]}), 3 silos
  submit commands      all returned after $(printf %.1f "$submitted") s
  accepted             ${#ids[@]}
  refused              ${#refusals[@]}${refused_text:+
$refused_text}
  taken, client told   ${#unacknowledged[@]} (the cluster has them though their submit command reported an error)
  completed            $completed
  failed               ${#failed[@]}${failed_text:+
$failed_text}
  lost                 ${#lost[@]}
  duplicated           ${#duplicated[@]}
  queue                peak $peak pending (peak $peak_running running at once); drained $drained_text
  stage restarts       $restarts (from the silos' logs)
EOF
failures=()
[ ${#failed[@]} -eq 0 ] || failures+=("${#failed[@]} experiment(s) failed (above)")
for item in "${lost[@]}" "${duplicated[@]}"; do [ -n "$item" ] && failures+=("$item"); done
$drained || failures+=("the queue did not drain within $timeout s")
if [ ${#failures[@]} -gt 0 ]; then
  printf 'FAILED:\n'; printf '  - %s\n' "${failures[@]}" | head -40
  exit 1
fi
echo "PASSED: 0 lost, 0 duplicated, 0 failed; the queue drained"
