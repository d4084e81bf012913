using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Collective;
using Tessera.Stages;
using Tessera.Trainers;
using Tessera.Bench.Workloads;
using Tessera.Trainers.Distributed;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>
/// `tessera-bench dp`: the cost of data parallelism. A reference workload's step with N ranks (each its own worker thread,
/// one libtorch thread and the same per-rank batch, gradients averaged over loopback gRPC by the real ring) against the
/// same step with one rank and one thread. Each world size runs in a child process, because libtorch takes its thread
/// budget once per process; ranks in a child talk over the collective exactly as ranks in one embedded silo do.
/// </summary>
public sealed class BenchDpCommand : AsyncCommand<BenchDpCommand.Settings>
{
    public sealed class Settings : StepTimingSettings
    {
        [CommandOption("--workload <WORKLOAD>")]
        [Description("ref-gpt or ref-vq (default ref-gpt).")]
        [DefaultValue("ref-gpt")]
        public string Workload { get; set; } = "ref-gpt";

        [CommandOption("--workers <LIST>")]
        [Description("World sizes, comma separated; 1 is the baseline every other size is compared with (default 1,2).")]
        [DefaultValue("1,2")]
        public string Workers { get; set; } = "1,2";

        [CommandOption("--compression <KIND>")]
        [Description("What travels on the ring: none, bf16 or fp16 (default none; accumulation stays fp32).")]
        [DefaultValue("none")]
        public string Compression { get; set; } = "none";

        [CommandOption("--no-independent")]
        [Description("Skip the runs of N ranks that train side by side without averaging gradients (by default each world size > 1 also runs so: what sharing the machine costs, apart from the all-reduce).")]
        public bool NoIndependent { get; set; }

        /// <summary>Set by the parent for a child: its ranks train side by side and never average gradients.</summary>
        [CommandOption("--child-independent", IsHidden = true)]
        public bool ChildIndependent { get; set; }

        /// <summary>Set by the parent for a child: run one world size in this process and write its result here.</summary>
        [CommandOption("--child-out <FILE>", IsHidden = true)]
        public string? ChildOut { get; set; }

        public StepBenchmarkOptions Options => new(Warmup, Steps);

        public override ValidationResult Validate()
        {
            if (Workload is not (BenchSpecs.RefGpt or BenchSpecs.RefVq)) return ValidationResult.Error($"--workload '{Workload}': use {BenchSpecs.RefGpt} or {BenchSpecs.RefVq}");
            try
            {
                var sizes = WorldSizes();
                if (sizes.Count == 0 || sizes.Any(n => n < 1)) return ValidationResult.Error("--workers must list sizes >= 1");
                Options.Validate();
                ParseCompression(Compression);
            }
            catch (Exception e) when (e is FormatException or ArgumentException) { return ValidationResult.Error(e.Message); }
            return ValidationResult.Success();
        }

        public List<int> WorldSizes() => BenchEnvironment.ParseList(Workers, s => int.Parse(s, CultureInfo.InvariantCulture));
    }

    /// <summary>One world size: the slowest rank's step, the all-reduce inside it, and memory around the all-reduce.</summary>
    /// <param name="AllReduceMs">Median wall time of rank 0's gradient average (gather, ring, scatter) per step.</param>
    /// <param name="SyncBufferBytes">The flat fp32 gradient buffer each rank allocates once, at start.</param>
    /// <param name="AllReduceRssRiseBytes">The process's largest rise of resident memory during an all-reduce, over the
    /// timed steps (all ranks of the process at once; peak RSS reset before each).</param>
    /// <param name="Independent">The ranks trained side by side without averaging gradients: the cost of sharing the
    /// machine (cores, caches, memory bandwidth), which no all-reduce can remove.</param>
    public sealed record DpResult(int Workers, StepResult[] Ranks, double StepMs, double AllReduceMs, long SyncBufferBytes,
        long AllReduceRssRiseBytes, long PeakRssBytes, bool Independent = false);

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.ChildOut is not null) return await RunHereAsync(settings, cancellationToken);

        string loadBefore = BenchEnvironment.LoadAverage();
        var results = new List<DpResult>();
        var runs = settings.WorldSizes().Prepend(1).Distinct()
            .SelectMany(n => n > 1 && !settings.NoIndependent ? new[] { (n, false), (n, true) } : new[] { (n, false) });
        foreach (var (n, independent) in runs)
        {
            string output = Path.GetTempFileName();
            try
            {
                string how = independent ? "side by side, no all-reduce" : "one thread each";
                AnsiConsole.MarkupLineInterpolated($"[grey]{settings.Workload}, {n} rank(s), {how}: {settings.Options.TotalSteps} steps in a child process...[/]");
                var arguments = new List<string>
                {
                    "dp", "--workload", settings.Workload, "--workers", n.ToString(CultureInfo.InvariantCulture),
                    "--steps", settings.Steps.ToString(CultureInfo.InvariantCulture), "--warmup", settings.Warmup.ToString(CultureInfo.InvariantCulture),
                    "--compression", settings.Compression, "--device", settings.Device, "--seed", settings.Seed.ToString(CultureInfo.InvariantCulture),
                    "--child-out", output,
                };
                if (independent) arguments.Add("--child-independent");
                int exit = await BenchEnvironment.RunSelfAsync(arguments, cancellationToken);
                if (exit != ExitCodes.Success)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the run with {n} rank(s) ({how}) failed (exit code {exit})");
                    return ExitCodes.Failed;
                }
                results.Add(JsonSerializer.Deserialize<DpResult>(await File.ReadAllTextAsync(output, cancellationToken), BenchEnvironment.Json)
                    ?? throw new InvalidDataException($"empty result from the run with {n} rank(s) ({how})"));
            }
            finally { File.Delete(output); }
        }

        double baseline = results[0].StepMs;
        DpResult? Independent(int n) => results.FirstOrDefault(r => r.Independent && r.Workers == n);
        var table = new Table().AddColumns("ranks", "gradients", "threads/rank", "batch/rank", "step ms (slowest rank)", "all-reduce ms", "overhead vs 1 rank",
            "examples/s", "grad buffer/rank", "RSS rise in all-reduce", "peak RSS");
        foreach (var r in results)
            table.AddRow($"{r.Workers}", r.Workers == 1 ? "-" : r.Independent ? "not averaged" : "all-reduce", "1", $"{r.Ranks[0].BatchSize}",
                $"{r.StepMs:0.0}", r.Workers == 1 || r.Independent ? "-" : $"{r.AllReduceMs:0.0}",
                r.Workers == 1 ? "-" : $"{100 * (r.StepMs / baseline - 1):+0.0;-0.0}%", $"{r.Workers * r.Ranks[0].BatchSize / (r.StepMs / 1000):0}",
                r.Workers == 1 || r.Independent ? "-" : $"{r.SyncBufferBytes / 1048576.0:0.0} MB",
                r.Workers == 1 || r.Independent ? "-" : $"{r.AllReduceRssRiseBytes / 1048576.0:0.0} MB",
                $"{r.PeakRssBytes / 1048576.0:0} MB");
        AnsiConsole.Write(table);
        if (results.Any(r => r.Independent))
            AnsiConsole.MarkupLine("[grey]\"not averaged\": the same ranks training side by side with no all-reduce; the step of that row over 1 rank's is what sharing the machine costs, and the all-reduce row over it is what data parallelism adds.[/]");
        AnsiConsole.MarkupLineInterpolated(
            $"[grey]{settings.Workload}, {results[0].Ranks[0].Parameters / 1e6:0.000}M parameters; median of {settings.Steps} steps after {settings.Warmup}; ring compression {settings.Compression}; load average before: {loadBefore}, after: {BenchEnvironment.LoadAverage()}[/]");
        if (settings.Json is not null)
        {
            var benchSettings = new
            {
                workload = settings.Workload, workers = settings.WorldSizes(), steps = settings.Steps, warmup = settings.Warmup, compression = settings.Compression,
                device = settings.Device, seed = settings.Seed, threadsPerRank = 1,
                timing = "per rank: wall time between the starts of consecutive steps (forward, backward, gradient average, AdamW); a world size's step is its slowest rank's median",
            };
            await BenchEnvironment.WriteReportAsync(settings.Json, "dp", BenchEnvironment.Machine(loadBefore, BenchEnvironment.TorchLibraries()),
                benchSettings, new { results, overheadPercent = results.Skip(1).Where(r => !r.Independent).Select(r => new
                {
                    r.Workers,
                    percent = 100 * (r.StepMs / baseline - 1),
                    // Split of the overhead: sharing the machine (independent ranks vs 1 rank), then the all-reduce (vs independent ranks).
                    sharingPercent = Independent(r.Workers) is { } i ? 100 * (i.StepMs / baseline - 1) : (double?)null,
                    dataParallelPercent = Independent(r.Workers) is { } j ? 100 * (r.StepMs / j.StepMs - 1) : (double?)null,
                }) },
                cancellationToken);
        }
        return ExitCodes.Success;
    }

    /// <summary>The child's work: N ranks in this process, one thread each, on loopback gRPC when N > 1.</summary>
    private static async Task<int> RunHereAsync(Settings settings, CancellationToken cancellationToken)
    {
        int n = settings.WorldSizes().Single();
        TorchRuntime.Initialize(n); // the process's budget: one libtorch thread per rank
        var device = TorchRuntime.ResolveDevice(settings.Device);
        var options = settings.Options;
        var compression = ParseCompression(settings.Compression);

        bool averaged = n > 1 && !settings.ChildIndependent;
        await using var cluster = averaged ? await LoopbackCluster.StartAsync(n) : null;
        string secret = Guid.NewGuid().ToString("N"); // one per group, as the experiment grain hands out
        var rings = cluster is null ? [] : await Task.WhenAll(Enumerable.Range(0, n).Select(r => cluster.Hub(r).JoinAsync(
            cluster.Group(r, "bench-dp", secret, timeout: TimeSpan.FromSeconds(120)),
            new CollectiveOptions { Compression = compression }, cancellationToken)));
        try
        {
            var probes = Enumerable.Range(0, n).Select(r => new TimedReducer(rings.Length == 0 ? null : new RingGradientReducer(rings[r], cancellationToken), measuresMemory: r == 0)).ToArray();
            var results = new StepResult[n];
            long syncBytes = 0;
            Exception? failure = null;
            var threads = Enumerable.Range(0, n).Select(r => new Thread(() =>
            {
                try
                {
                    TorchRuntime.LimitCallingThread(1);
                    var parallel = averaged ? new DataParallel(r, n, probes[r]) : null;
                    long seed = settings.Seed + r; // each rank its own data; rank 0's weights are broadcast
                    // As a trainer worker's: every tensor of this thread in a scope, so none is finalized mid-op.
                    results[r] = TorchRuntime.OwningEveryTensor(() =>
                    {
                        using var workload = settings.Workload == BenchSpecs.RefGpt
                            ? ReferenceWorkload.Gpt(device, seed, options.TotalSteps, parallel)
                            : ReferenceWorkload.Vq(device, seed, options.TotalSteps, parallel);
                        if (r == 0) syncBytes = workload.Parameters * sizeof(float);
                        return StepBenchmark.Run(workload, options);
                    }, out _);
                }
                catch (Exception e) { failure ??= e; }
            }) { Name = $"bench-dp-rank-{r}", IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            if (failure is not null) throw new InvalidOperationException($"a rank failed: {failure.Message}", failure);

            // One average per step: the warm-up steps' come first, then the timed steps'.
            var timed = probes[0].AverageMs.Skip(options.Warmup).Take(options.Steps).Order().ToArray();
            var result = new DpResult(n, results, results.Max(r => r.MedianMs), timed.Length == 0 ? 0 : StepBenchmark.Percentile(timed, 0.5),
                averaged ? syncBytes : 0, probes[0].LargestRssRise(options.Warmup), Process.GetCurrentProcess().PeakWorkingSet64, Independent: n > 1 && !averaged);
            await File.WriteAllTextAsync(settings.ChildOut!, JsonSerializer.Serialize(result, BenchEnvironment.Json), cancellationToken);
            return ExitCodes.Success;
        }
        finally
        {
            foreach (var ring in rings) await ring.DisposeAsync();
        }
    }

    private static WireCompression ParseCompression(string kind) => BenchAllReduceCommand.ParseCompression(kind);

    /// <summary>
    /// A rank's reducer with a stopwatch (and, on one rank, a memory probe) around each gradient average. The probe
    /// resets the process's peak RSS before the average and reads it after (Linux /proc), so the rise is what the
    /// all-reduce itself allocated, not what the forward pass did.
    /// </summary>
    private sealed class TimedReducer(IGradientReducer? inner, bool measuresMemory) : IGradientReducer
    {
        public List<double> AverageMs { get; } = [];
        private readonly List<long> _rssRise = [];

        public void AverageInPlace(Memory<float> buffer)
        {
            long before = measuresMemory ? ResetPeakRss() : 0;
            long start = Stopwatch.GetTimestamp();
            inner!.AverageInPlace(buffer);
            AverageMs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (measuresMemory) _rssRise.Add(Math.Max(0, PeakRss() - before));
        }

        public void BroadcastInPlace(Memory<float> buffer) => inner!.BroadcastInPlace(buffer);

        public long LargestRssRise(int skip) => _rssRise.Skip(skip).DefaultIfEmpty(0).Max();

        /// <summary>Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+); returns the RSS it was reset to.</summary>
        private static long ResetPeakRss()
        {
            try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            return StatusKb("VmRSS:") * 1024;
        }

        private static long PeakRss() => StatusKb("VmHWM:") * 1024;

        private static long StatusKb(string field)
        {
            if (!File.Exists("/proc/self/status")) return 0;
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
    }
}
