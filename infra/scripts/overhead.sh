#!/usr/bin/env bash
# Framework overhead of `tessera-bench step` and `bench sample`, measured with Linux perf (Debian: linux-perf).
# Every CPU sample of the bench process that falls inside a timed window (the benches write their windows to the JSON,
# on CLOCK_MONOTONIC) is put in a bucket by the binary it hit:
#   libtorch  libtorch's own code (libtorch_cpu, c10, its OpenMP and math libraries);
#   kernels   anonymous executable memory that .NET's perf map does not name. The runtime writes every method and stub
#             it generates to that map, so what is left is code generated at run time by libtorch's oneDNN/MKL (their
#             JIT matmul and eltwise kernels; `perf record -g` shows dnnl frames calling into it);
#   .NET      what the framework adds on top: JIT-compiled C# (project and TorchSharp), the runtime and its JIT,
#             TorchSharp's native binding layer (libLibTorchSharp);
#   libc, kernel  malloc/memcpy and page faults or syscalls, which cannot be told apart (libtorch's or .NET's) without
#             call stacks through libtorch, so they are shown apart.
# The strict overhead counts only ".NET"; the upper bound counts everything but libtorch and its kernels. Buckets are
# shares of the samples of the thread that runs the steps (the main thread; with 1 libtorch thread it does all the
# tensor work too); "bg" is the other threads' samples in the same window (.NET's tiering JIT, GC, finalizer, and with
# more libtorch threads its OpenMP workers) as a share of the main thread's.
#
#   bash infra/scripts/overhead.sh step [workload=ref-gpt] [steps=20] [threads=1]
#   bash infra/scripts/overhead.sh sample [batch=1] [repeats=5] [threads=1] [spec=examples/quickstart.yaml]
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-step}
bench=${TESSERA_BENCH:-tools/Tessera.Bench/bin/Release/net10.0/tessera-bench}
command -v perf >/dev/null || { echo "overhead.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$bench" ] || { echo "overhead.sh: build first (dotnet build Platform.sln -c Release); no $bench" >&2; exit 1; }

out=$(mktemp -d)
# The runtime's perf map is /tmp/perf-<pid>.map; it goes too once the report is made.
cleanup() {
  pid=$(perf script -i "$out/perf.data" -F pid 2>/dev/null | head -1 | tr -d ' ' || true)
  [ -n "$pid" ] && rm -f "/tmp/perf-$pid.map" "/tmp/perfinfo-$pid.map"
  rm -rf "$out"
}
trap cleanup EXIT

# The perf map names JIT-compiled methods; W^X off keeps their addresses the ones the map lists.
profile() { DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -q -k CLOCK_MONOTONIC -F 999 -o "$out/perf.data" -- "$bench" "$@" >/dev/null; }

case "$mode" in
  step)
    workload=${2:-ref-gpt}; steps=${3:-20}; threads=${4:-1}
    # One process, as a `bench step` child runs: the hidden --child-out times in-process.
    profile step --workload "$workload" --threads "$threads" --steps "$steps" --warmup 3 --child-out "$out/result.json"
    echo "tessera-bench step --workload $workload --threads $threads --steps $steps"
    ;;
  sample)
    batch=${2:-1}; repeats=${3:-5}; threads=${4:-1}; spec=${5:-examples/quickstart.yaml}
    profile sample --spec "$spec" --batches "$batch" --repeats "$repeats" --threads "$threads" --json "$out/result.json"
    echo "tessera-bench sample --spec $spec --batches $batch --repeats $repeats --threads $threads"
    ;;
  *) echo "usage: overhead.sh step|sample ..." >&2; exit 2 ;;
esac

# One line per timed window: label, start and end (ns). Step results have one; sample results one per case.
awk '
  /"workload":/            { split($0, a, "\""); label = a[4] }
  /"generator": "/         { split($0, a, "\""); g = a[4] }
  /"mode":/                { split($0, a, "\""); m = a[4] }
  /"cfg": /                { c = $2; sub(",", "", c); c = (c == "null") ? "free" : "cfg" c }
  /"batch": [0-9]/         { b = $2; sub(",", "", b) }
  /"startNs":/             { s = $2; sub(",", "", s) }
  /"endNs":/               { e = $2; sub(",", "", e); print (g != "" ? g "/" m "/" c "/b" b : label), s, e }
' "$out/result.json" > "$out/windows"

perf script -i "$out/perf.data" --ns -F pid,tid,time,ip,sym,dso 2>/dev/null | awk '
FNR == NR { label[++w] = $1; from[w] = $2; to[w] = $3; next }
{
  time = $2; sub(":", "", time); ns = time * 1e9
  k = 0
  for (i = 1; i <= w; i++) if (ns >= from[i] && ns <= to[i]) { k = i; break }
  if (k == 0) next
  split($1, id, "/")
  if (id[1] != id[2]) { bg[k]++; next }
  line = $0; sub(/^[^ ]+ +/, "", line)
  if (line ~ /libtorch|libc10|libgomp|libiomp|libmkl|libdnnl|libm\.so|libm-/) b = "libtorch"
  else if (line ~ /\[unknown\] \(\/tmp\/perf-[0-9]+\.map\)/) b = "kernels"
  else if (line ~ /perf-[0-9]+\.map|\[JIT\]|doublemapper|libcoreclr|libclrjit|libSystem|System\.|Microsoft\.|TorchSharp|LibTorchSharp|libhostfxr|libhostpolicy|tessera/) b = ".NET"
  else if (line ~ /libc\.so|libstdc\+\+|ld-linux|libpthread/) b = "libc"
  else if (line ~ /kernel/) b = "kernel"
  else b = "other"
  n[k, b]++; total[k]++
  if (b == ".NET") { sym = line; sub(/^[^ ]+ +[0-9a-f]+ +/, "", sym); hot[sym]++ }
}
END {
  printf "%-28s %8s %9s %8s %7s %7s %7s %7s %8s %8s %6s\n", "window", "samples", "libtorch", "kernels", ".NET", "libc", "kernel", "other", "strict", "upper", "bg"
  for (i = 1; i <= w; i++) {
    t = total[i]; if (t == 0) { printf "%-28s no samples\n", label[i]; continue }
    printf "%-28s %8d", label[i], t
    split("libtorch kernels .NET libc kernel other", order, " ")
    for (j = 1; j <= 6; j++) printf " %7.2f%%", 100 * n[i, order[j]] / t
    printf " %7.2f%% %7.2f%% %5.1f%%\n", 100 * n[i, ".NET"] / t, 100 * (t - n[i, "libtorch"] - n[i, "kernels"]) / t, 100 * bg[i] / t
  }
  print "main thread; strict: .NET only; upper: all but libtorch and its kernels; bg: other threads / main thread."
  print "Hottest .NET symbols on the main thread (samples, all windows):"
  cmd = "sort -rn | head -15"
  for (s in hot) printf "  %6d  %s\n", hot[s], substr(s, 1, 200) | cmd
  close(cmd)
}' "$out/windows" -
