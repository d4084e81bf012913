using System.Diagnostics;
using static TorchSharp.torch;

using Tessera.Trainers;

namespace Tessera.Bench.Workloads;

/// <summary>How many steps `bench step` runs: untimed warm-up, timed steps, and the optional leak check's length.</summary>
/// <param name="LeakSteps">0 for no leak check; otherwise the step whose live tensors and RSS are compared with step 100's.</param>
public sealed record StepBenchmarkOptions(int Warmup, int Steps, int LeakSteps = 0)
{
    /// <summary>The leak check's first sample: by then every lazy allocation (optimizer state, allocator pools) has happened.</summary>
    public const int LeakFromStep = 100;

    /// <summary>Steps a workload must run: enough for the timing and the leak check, plus one whose start closes the last interval.</summary>
    public int TotalSteps => Math.Max(Warmup + Steps, LeakSteps) + 1;

    public void Validate()
    {
        if (Warmup < 0) throw new ArgumentOutOfRangeException(nameof(Warmup), Warmup, "warm-up steps must be >= 0");
        if (Steps < 10) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "at least 10 timed steps, for a median and p10/p90");
        if (LeakSteps != 0 && LeakSteps <= LeakFromStep)
            throw new ArgumentOutOfRangeException(nameof(LeakSteps), LeakSteps, $"the leak check compares step {LeakFromStep} with a later one: use more than {LeakFromStep} (or 0 for none)");
    }
}

/// <summary>
/// Live tensors, RSS and managed heap at step 100 and at the last step of the leak check, and RSS every 100 steps in
/// between (<see cref="RssEvery100Steps"/>, from step 100 on).
/// </summary>
public sealed record LeakCheck(int FromStep, int ToStep, long LiveTensorsFrom, long LiveTensorsTo, long RssBytesFrom, long RssBytesTo,
    long ManagedHeapBytesFrom, long ManagedHeapBytesTo, long[] RssEvery100Steps)
{
    /// <summary>RSS may move this much without being called growth: glibc and libtorch pools settle over many steps.</summary>
    public const double RssTolerancePercent = 1.0;

    public long TensorGrowth => LiveTensorsTo - LiveTensorsFrom;
    public double RssGrowthPercent => 100.0 * (RssBytesTo - RssBytesFrom) / RssBytesFrom;

    /// <summary>
    /// How far the second half's RSS peak rose above the first half's. A leak keeps setting new highs; an allocator
    /// that is settling reaches its plateau in the first half.
    /// </summary>
    public double RssPeakRisePercent
    {
        get
        {
            var series = RssEvery100Steps.Append(RssBytesTo).ToArray();
            int half = Math.Max(1, series.Length / 2);
            return 100.0 * (series[half..].Max() - series[..half].Max()) / series[..half].Max();
        }
    }

    /// <summary>Grows: more live tensors at the end, or RSS still reaching new highs in the second half.</summary>
    public bool Grows => TensorGrowth > 0 || RssPeakRisePercent > RssTolerancePercent;
}

/// <summary>What `bench step` measured for one workload at one libtorch thread count.</summary>
public sealed record StepResult(
    string Workload, int Threads, int BatchSize, long Parameters, int WarmupSteps, int TimedSteps,
    double MedianMs, double P10Ms, double P90Ms, double MeanMs, double ExamplesPerSecond, double CpuMsPerStep, double TensorsPerStep,
    long PeakRssBytes, double ManagedBytesPerStep, int Gen0Collections, int Gen2Collections, double FinalLoss,
    LeakCheck? Leak, IReadOnlyDictionary<string, object> Settings, double[] StepMs, TimedWindow Window);

/// <summary>
/// Where the timed steps lie on the monotonic clock (Stopwatch's clock: CLOCK_MONOTONIC on Linux), in nanoseconds, so
/// a profile taken with `perf record -k CLOCK_MONOTONIC` can be cut to exactly those steps.
/// </summary>
public sealed record TimedWindow(long StartNs, long EndNs)
{
    public static long Nanoseconds(long timestamp) => (long)(timestamp * (1e9 / Stopwatch.Frequency));
}

/// <summary>
/// Times a <see cref="IStepWorkload"/> step by step on the calling thread: wall time between step starts, managed
/// allocation, collections and process CPU time over the timed steps (CPU time barely moves when other processes
/// compete for the cores, wall time does), peak RSS, and (optionally) the leak check. Live tensors are
/// TorchSharp's count of tensor handles not yet disposed (<see cref="Tensor.TotalCount"/>), read at a step's start
/// after a full collection: the count is process-wide, so without one it moves with whenever the finalizer happens
/// to release tensors that earlier code dropped. The leak samples' own time is left out of the step times.
/// </summary>
public static class StepBenchmark
{
    public static StepResult Run(IStepWorkload workload, StepBenchmarkOptions options)
    {
        options.Validate();
        int total = workload.Steps;
        if (total < options.TotalSteps) throw new ArgumentException($"workload runs {total} steps; these options need {options.TotalSteps}");
        var starts = new long[total];
        var ends = new long[total];
        int timedEnd = options.Warmup + options.Steps;
        long allocated = 0;
        int gen0 = 0, gen2 = 0;
        TimeSpan cpu = TimeSpan.Zero;
        long tensors = 0;
        (long Tensors, long Rss, long Heap) from = default, to = default;
        var rssSeries = new List<long>();
        double loss = workload.Run(k =>
        {
            if (k > 0) ends[k - 1] = Stopwatch.GetTimestamp();
            if (k == options.Warmup)
            {
                allocated = GC.GetAllocatedBytesForCurrentThread();
                (gen0, gen2) = (GC.CollectionCount(0), GC.CollectionCount(2));
                cpu = Environment.CpuUsage.TotalTime;
                tensors = TensorsCreated();
            }
            else if (k == timedEnd)
            {
                allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
                (gen0, gen2) = (GC.CollectionCount(0) - gen0, GC.CollectionCount(2) - gen2);
                cpu = Environment.CpuUsage.TotalTime - cpu;
                tensors = TensorsCreated() - tensors;
            }
            if (options.LeakSteps > 0 && k == StepBenchmarkOptions.LeakFromStep) from = Sample();
            if (options.LeakSteps > 0 && k == options.LeakSteps) to = Sample();
            else if (options.LeakSteps > 0 && k >= StepBenchmarkOptions.LeakFromStep && k < options.LeakSteps && k % 100 == 0)
                rssSeries.Add(k == StepBenchmarkOptions.LeakFromStep ? from.Rss : TrimmedRss());
            starts[k] = Stopwatch.GetTimestamp();
        });

        var stepMs = Enumerable.Range(options.Warmup, options.Steps)
            .Select(k => Stopwatch.GetElapsedTime(starts[k], ends[k]).TotalMilliseconds).ToArray();
        var sorted = stepMs.Order().ToArray();
        double median = Percentile(sorted, 0.5);
        var leak = options.LeakSteps > 0
            ? new LeakCheck(StepBenchmarkOptions.LeakFromStep, options.LeakSteps, from.Tensors, to.Tensors, from.Rss, to.Rss, from.Heap, to.Heap,
                rssSeries.ToArray())
            : null;
        return new StepResult(workload.Name, get_num_threads(), workload.BatchSize, workload.Parameters, options.Warmup, options.Steps,
            median, Percentile(sorted, 0.1), Percentile(sorted, 0.9), stepMs.Average(), workload.BatchSize / (median / 1000), cpu.TotalMilliseconds / options.Steps, (double)tensors / options.Steps,
            Process.GetCurrentProcess().PeakWorkingSet64, (double)allocated / options.Steps, gen0, gen2, loss, leak, workload.Settings, stepMs,
            new TimedWindow(TimedWindow.Nanoseconds(starts[options.Warmup]), TimedWindow.Nanoseconds(ends[timedEnd - 1])));
    }

    // The heap size the full collection in LiveTensors left (GC.GetTotalMemory came back negative here once).
    private static (long, long, long) Sample() => (LiveTensors(), TrimmedRss(), GC.GetGCMemoryInfo().HeapSizeBytes);

    /// <summary>
    /// Resident memory after glibc has handed its free pages back to the system. Without the trim, RSS also counts
    /// freed blocks that the allocator keeps cached, which come and go by several percent between samples and hide a slow
    /// leak; with it, RSS follows what is still allocated.
    /// </summary>
    public static long TrimmedRss()
    {
        if (OperatingSystem.IsLinux())
        {
            try { MallocTrim(0); }
            catch (EntryPointNotFoundException) { } // not glibc (musl): RSS as it is
        }
        return Environment.WorkingSet;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>
    /// Tensor handles created on this thread so far (TorchSharp's dispose-scope statistics, in scopes or not): each is a
    /// native call's result, so the count per step says how much framework work a step asks for, whatever the load.
    /// </summary>
    public static long TensorsCreated()
    {
        var statistics = TorchSharp.DisposeScopeManager.Statistics;
        return statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount;
    }

    /// <summary>Tensor handles not disposed, after a full collection has finalized every unreachable one.</summary>
    public static long LiveTensors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Tensor.TotalCount;
    }

    /// <summary>Linear interpolation between closest ranks of an ascending array.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) throw new ArgumentException("no values", nameof(sorted));
        double at = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(at), hi = (int)Math.Ceiling(at);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
    }
}
