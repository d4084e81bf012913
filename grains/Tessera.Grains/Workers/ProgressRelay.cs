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
    // Calls to the experiment grain, delivered one after the other in the order the worker made them.
    readonly Channel<(int Step, Func<Task> Call)> _queue = Channel.CreateUnbounded<(int, Func<Task>)>(new() { SingleReader = true });
    readonly IExperimentGrain _experiment;
    readonly int _stageIndex;
    readonly Task _pump;

    readonly string _stage;
    readonly string _experimentId;
    long _lastReportTimestamp;
    int _lastReportStep;

    /// <param name="stage">The stage's name in the spec, which labels every report whatever the trainer calls itself.</param>
    public ProgressRelay(IExperimentGrain experiment, int stageIndex, string stage, ILogger logger)
    {
        _stage = stage;
        _experiment = experiment;
        _stageIndex = stageIndex;
        _experimentId = experiment.GetPrimaryKeyString();
        _pump = Task.Run(async () =>
        {
            await foreach (var (step, call) in _queue.Reader.ReadAllAsync())
            {
                try { await call(); }
                catch (Exception e) { logger.LogWarning(e, "Progress report for step {Step} was lost", step); }
            }
        });
    }

    public void Report(Tessera.Trainers.TrainingProgress value)
    {
        RecordMetrics(value);
        var progress = new StageProgress(_stage, value.Step, value.TotalSteps, value.Loss, value.ImagesPerSecond, value.Metrics.ToDictionary());
        _queue.Writer.TryWrite((value.Step, () => _experiment.ReportProgress(_stageIndex, progress)));
    }

    /// <summary>
    /// Tells the experiment a resumable checkpoint of <paramref name="step"/> is written, after every report before it,
    /// so it can make the curve up to there durable: a restart from that checkpoint reports the steps after it again.
    /// </summary>
    public void Checkpointed(int step) => _queue.Writer.TryWrite((step, () => _experiment.ReportCheckpoint(_stageIndex, step)));

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
