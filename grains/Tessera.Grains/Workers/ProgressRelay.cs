using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tessera.Infra.Telemetry;

namespace Tessera.Grains.Workers;

/// <summary>
/// Carries a worker's progress reports to the experiment grain in order, off the training thread: the
/// training loop only enqueues, so a slow or busy control plane never stalls a step.
/// </summary>
public sealed class ProgressRelay : IProgress<Tessera.Trainers.TrainingProgress>
{
    readonly Channel<StageProgress> _queue = Channel.CreateUnbounded<StageProgress>(new() { SingleReader = true });
    readonly Task _pump;

    readonly string _stage;
    readonly string _experimentId;
    long _lastReportTimestamp;
    int _lastReportStep;

    /// <param name="stage">The stage's name in the spec, which labels every report whatever the trainer calls itself.</param>
    public ProgressRelay(IExperimentGrain experiment, int stageIndex, string stage, ILogger logger)
    {
        _stage = stage;
        _experimentId = experiment.GetPrimaryKeyString();
        _pump = Task.Run(async () =>
        {
            await foreach (var progress in _queue.Reader.ReadAllAsync())
            {
                try { await experiment.ReportProgress(stageIndex, progress); }
                catch (Exception e) { logger.LogWarning(e, "Progress report for step {Step} was lost", progress.Step); }
            }
        });
    }

    public void Report(Tessera.Trainers.TrainingProgress value)
    {
        RecordMetrics(value);
        _queue.Writer.TryWrite(new StageProgress(_stage, value.Step, value.TotalSteps, value.Loss,
            value.ImagesPerSecond, value.Metrics.ToDictionary()));
    }

    /// <summary>Waits until every queued report has been delivered (or given up on).</summary>
    public Task DrainAsync()
    {
        TesseraMetrics.StageEnded(_experimentId, _stage);
        _queue.Writer.TryComplete();
        return _pump;
    }

    /// <summary>
    /// Step time as the mean over the interval since the previous report, timed here on the worker thread; the
    /// first report's interval includes model and data set-up, so it gives no step time.
    /// </summary>
    void RecordMetrics(Tessera.Trainers.TrainingProgress value)
    {
        long now = Stopwatch.GetTimestamp();
        int steps = value.Step - _lastReportStep;
        double? meanStepSeconds = _lastReportTimestamp != 0 && steps > 0
            ? Stopwatch.GetElapsedTime(_lastReportTimestamp, now).TotalSeconds / steps
            : null;
        TesseraMetrics.RecordProgress(_experimentId, _stage, Math.Max(0, steps), meanStepSeconds, value.ImagesPerSecond);
        (_lastReportTimestamp, _lastReportStep) = (now, value.Step);
    }
}
