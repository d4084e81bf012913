using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Tessera.Infra.Telemetry;

/// <summary>
/// Every Tessera metric, on one <see cref="Meter"/> named "Tessera" that the silo exports for Prometheus. Plain
/// System.Diagnostics.Metrics, no Orleans or OpenTelemetry types, so worker threads, grains and the collective
/// record into it directly; a measurement nobody listens to costs next to nothing. Process-wide by nature (a
/// Meter is found by name), so several silos in one test process share it.
/// </summary>
public static class TesseraMetrics
{
    public const string MeterName = "Tessera";

    static readonly Meter Meter = new(MeterName, "1.0");

    // Seconds from a millisecond step of a tiny test model up to a minutes-long step of a large one.
    static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    static readonly Histogram<double> StepDuration = Meter.CreateHistogram(
        "tessera.training.step.duration", "s",
        "Optimizer step time: the mean over each progress interval (log_every steps), recorded once per interval.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    static readonly Counter<long> Steps = Meter.CreateCounter<long>(
        "tessera.training.steps", "{step}", "Optimizer steps completed, as progress reports count them.");

    static readonly ConcurrentDictionary<(string Experiment, string Stage), double> Throughput = new();

    static readonly Counter<long> AllReduceBytes = Meter.CreateCounter<long>(
        "tessera.allreduce.bytes", "By", "fp32 bytes all-reduced per rank (the buffer size); bandwidth is its rate over the duration's.");

    static readonly Histogram<double> AllReduceDuration = Meter.CreateHistogram(
        "tessera.allreduce.duration", "s", "Wall time of one ring all-reduce on one rank.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    static readonly UpDownCounter<long> Experiments = Meter.CreateUpDownCounter<long>(
        "tessera.experiments", "{experiment}", "Experiments this process's grains hold, by state.");

    static readonly UpDownCounter<long> Queue = Meter.CreateUpDownCounter<long>(
        "tessera.queue.length", "{experiment}", "Experiments submitted and not finished (pending or running).");

    static TesseraMetrics()
    {
        Meter.CreateObservableGauge("tessera.training.images_per_second", ObserveThroughput, "{image}/s",
            "Training throughput of each running stage, as its latest progress report gives it.");
    }

    /// <summary>A stage's progress report: <paramref name="meanStepSeconds"/> is null for the first report, whose interval includes set-up.</summary>
    public static void RecordProgress(string experiment, string stage, int steps, double? meanStepSeconds, double imagesPerSecond)
    {
        var tags = ExperimentStage(experiment, stage);
        if (steps > 0) Steps.Add(steps, tags);
        if (meanStepSeconds is { } seconds) StepDuration.Record(seconds, tags);
        Throughput[(experiment, stage)] = imagesPerSecond;
    }

    /// <summary>The stage stopped training: its throughput series ends rather than freezing at its last value.</summary>
    public static void StageEnded(string experiment, string stage) => Throughput.TryRemove((experiment, stage), out _);

    public static void RecordAllReduce(string experiment, long bytes, double seconds)
    {
        var tags = new TagList { { "experiment", experiment } };
        AllReduceBytes.Add(bytes, tags);
        AllReduceDuration.Record(seconds, tags);
    }

    /// <summary>An experiment moved from <paramref name="from"/> (null when it was just submitted) to <paramref name="to"/>.</summary>
    public static void ExperimentMoved(string? from, string to, bool finished)
    {
        if (from == to) return;
        if (from is null) Queue.Add(1);
        else Experiments.Add(-1, new KeyValuePair<string, object?>("state", from));
        Experiments.Add(1, new KeyValuePair<string, object?>("state", to));
        if (finished) Queue.Add(-1);
    }

    /// <summary>A finished experiment (failed or cancelled) queued again.</summary>
    public static void ExperimentResumed(string from)
    {
        Experiments.Add(-1, new KeyValuePair<string, object?>("state", from));
        Experiments.Add(1, new KeyValuePair<string, object?>("state", "pending"));
        Queue.Add(1);
    }

    static IEnumerable<Measurement<double>> ObserveThroughput() =>
        Throughput.Select(entry => new Measurement<double>(entry.Value, ExperimentStage(entry.Key.Experiment, entry.Key.Stage)));

    static TagList ExperimentStage(string experiment, string stage) => new() { { "experiment", experiment }, { "stage", stage } };
}
