using System.Diagnostics;
using Tessera.Trainers.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers;

/// <summary>
/// One optimizer step, taken the same way by every training loop: the step's learning rate into the optimizer,
/// zeroed gradients, forward and backward of each micro-batch (<see cref="GradientAccumulation"/>), the
/// <see cref="NonFiniteGuard"/>'s verdict (it also averages the gradients over the ranks and clips them), and the
/// optimizer update only when the verdict allows it. What differs between loops is the loss of a micro-batch.
/// Built once per <c>Train</c> call, on the training thread; it owns nothing.
/// </summary>
public sealed class TrainingStep(OptimizerHelper optimizer, NonFiniteGuard guard, DataParallel? parallel, GradientSync? sync,
    int globalBatch, double gradClip)
{
    /// <summary>
    /// Takes 1-based step <paramref name="step"/> at learning rate <paramref name="lr"/>. <paramref name="microLoss"/> is
    /// the loss of one micro-batch (the whole local batch without data parallelism); <paramref name="hint"/> is what a
    /// diverged run's error tells the user to change.
    /// </summary>
    public StepVerdict Take(int step, double lr, Func<MicroBatch, Tensor> microLoss, Func<string> hint)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
        guard.BeginStep();
        optimizer.zero_grad();
        var loss = GradientAccumulation.Backward(parallel, globalBatch, micro => guard.Observe(step, microLoss(micro)));
        var verdict = guard.Complete(step, loss, sync, gradClip, hint);
        if (verdict.Apply) optimizer.step();
        return verdict;
    }
}

/// <summary>
/// When a training loop reports, and its throughput: examples counted since the previous report over the time since
/// it. Reports fall every <c>logEvery</c> steps and on the last step.
/// </summary>
public sealed class ProgressReporter(string stage, int totalSteps, int logEvery, IProgress<TrainingProgress>? progress)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastReportSeconds;
    private long _examples;

    /// <summary>Counts a step's examples: the global batch, all ranks together.</summary>
    public void Count(int examples) => _examples += examples;

    /// <summary>Whether step <paramref name="step"/> (completed steps) reports; metrics that cost a host read are only made then.</summary>
    public bool Due(int step) => progress is not null && (step % logEvery == 0 || step == totalSteps);

    /// <summary>Sends the report and starts the next throughput window.</summary>
    public void Report(int step, double loss, IReadOnlyDictionary<string, double> metrics)
    {
        double now = _clock.Elapsed.TotalSeconds;
        progress?.Report(new TrainingProgress(stage, step, totalSteps, loss, _examples / Math.Max(1e-9, now - _lastReportSeconds), metrics));
        _lastReportSeconds = now;
        _examples = 0;
    }
}
