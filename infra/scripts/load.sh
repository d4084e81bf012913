#!/usr/bin/env bash
# Load run: a local cluster (Redis, Azurite, 3 silos of 4 slots; infra/scripts/local-cluster.sh, set up as chaos.sh
# does through infra/scripts/lib/cluster.sh) and N small one-stage experiments (infra/load/load.yaml) submitted at once
# by `tessera-bench submit`: one client, as a dashboard or frontend would submit, each submission under its own
# idempotency key and retried under it when not answered in time, spread over 3 teams and 3 priorities. It follows
# every experiment to its end and prints (and, with --json, writes):
#   accepted     submissions answered with an experiment id
#   refused      submissions refused with a quota error (only with --quota)
#   errors       submissions that ended in any other error (none expected: a retry under the key covers timeouts)
#   completed    experiments that succeeded; failed ones counted by their error
#   lost         accepted ids the cluster does not know, or that never finished within --timeout
#   duplicated   ids returned for two keys, keys that return another id when asked again, experiments of the run
#                the cluster lists that no submission returned, stages completed more than once
#   queue        the peak number of pending and running experiments, and the seconds from the first submit until
#                every experiment finished (drain)
# Exit 0 only if nothing is lost, duplicated or failed, no submission ended in an error, and the queue drained.
#
#   bash infra/scripts/load.sh [--n 200] [--concurrency N] [--spec infra/load/load.yaml] [--quota Q] [--timeout 3600]
#                              [--json FILE] [--keep]
#
# --quota Q starts the silos with --submission-quota Q (a team's queued + running experiments). Ports (loopback) are
# moved off local-cluster.sh's and chaos.sh's: Redis 36379, Azurite 20100, silos 21211+, gateways 40100+, HTTP 25280+,
# data plane 22101+. State and logs: TESSERA_LOCAL_CLUSTER_DIR (default /tmp/tessera-load). SLOTS: slots a silo
# (default 4). TESSERA_BIN runs another build of tessera.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib/cluster.sh
source infra/scripts/lib/cluster.sh

n=200 concurrency= spec=infra/load/load.yaml quota= timeout=3600 json= keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --n) n=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --spec) spec=$2; shift 2 ;;
    --quota) quota=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    *) echo "load.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
for pair in "n:$n" "concurrency:${concurrency:-1}" "quota:${quota:-1}" "timeout:$timeout"; do
  [[ ${pair#*:} =~ ^[1-9][0-9]*$ ]] || { echo "load.sh: --${pair%%:*} must be a whole number above 0, got '${pair#*:}'" >&2; exit 2; }
done
[ -f "$spec" ] || { echo "load.sh: --spec $spec: no such file" >&2; exit 2; }

cluster_setup load 36379 100
# Four slots a silo (not one per 2 cores): the load experiments are one tiny single-threaded stage each, and the run is
# about the control plane, so twelve may run at once.
export SLOTS=${SLOTS:-4}
[ -z "$quota" ] || export SILO_ARGS="--submission-quota $quota"

say() { echo "load.sh [$(date -u +%H:%M:%S)] $*" >&2; }
cleanup() {
  if $keep; then say "--keep: cluster left up in $dir, its token in $dir/token ('bash infra/scripts/local-cluster.sh down' with the same TESSERA_LOCAL_CLUSTER_DIR stops it)"
  else cluster down >/dev/null 2>&1 || true; fi
}

cluster_build
trap cleanup EXIT
trap "exit 130" INT TERM
say "starting the local cluster in $dir"
cluster up >/dev/null
cluster_keep_token
say "submitting $n experiments at once from one client"
status=0
# The client runs with the machine's cores (the silos' one-thread setting is for their libtorch).
# tessera-bench is built beside the silos (Platform.sln); it drives them as a client would.
bench=${TESSERA_BENCH:-tools/Tessera.Bench/bin/Release/net10.0/tessera-bench}
[ -x "$bench" ] || dotnet build tools/Tessera.Bench -c Release -nologo -clp:ErrorsOnly
env -u DOTNET_PROCESSOR_COUNT nice -n 19 "$bench" submit --n "$n" ${concurrency:+--concurrency "$concurrency"} --spec "$spec" --gateway "$gateways" \
  --timeout "$timeout" ${json:+--json "$json"} --runs "$dir/client" || status=$?
echo "  stage restarts        $(cluster_restarts) (from the silos' logs)"
exit $status
