using System.Diagnostics;
using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// Post-trains a copy of a generator (the policy, dropout per <see cref="PostTrainingConfig.Dropout"/>) against a
/// frozen copy of the same generator (the reference) with one <see cref="IPostTrainingObjective"/>: AdamW, warmup then
/// cosine decay, gradient clipping, every step in its own dispose scope. The starting model is left untouched.
/// Synchronous on the caller's thread; one instance per thread. Same start, config, seed and data => same weights.
/// </summary>
public sealed partial class PostTrainer : IDisposable
{
    private readonly TokenGenerator _policy;
    private readonly TorchSharp.Modules.AdamW _optimizer;
    private FrozenReference _reference;
    private readonly NonFiniteGuard _guard;
    private bool _disposed;

    public PostTrainer(TokenGenerator start, PostTrainingConfig config, long seed)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        torch.manual_seed(seed); // dropout, if any, draws from the global RNG
        _policy = start.Copy(start.Config with { Dropout = config.Dropout });
        _policy.train();
        _reference = new FrozenReference(start);
        _optimizer = optim.AdamW(_policy.parameters(), lr: config.LearningRate, weight_decay: config.WeightDecay);
        _guard = new NonFiniteGuard(config.Objective, config.OnNonFinite, _policy);
    }

    public PostTrainingConfig Config { get; }
    /// <summary>The model being trained.</summary>
    public TokenGenerator Policy => _policy;
    /// <summary>The frozen model the objective compares against: the start, until <see cref="ResetReference"/>.</summary>
    public FrozenReference Reference => _reference;
    /// <summary>Optimizer steps completed in the current round; <see cref="Train"/> continues from here up to <c>Config.Steps</c>.</summary>
    public int Step { get; private set; }
    /// <summary>The current round, 0-based (DDO's self-play; always 0 with one round).</summary>
    public int Round { get; private set; }
    /// <summary>Steps completed over all rounds: the stage's step, which progress reports and checkpoints count.</summary>
    public int CompletedSteps => Round * Config.Steps + Step;
    /// <summary>Steps of the whole run, all rounds.</summary>
    public int TotalSteps => Config.TotalSteps;
    /// <summary>Loss and metrics of the latest step (null before any).</summary>
    public TrainingProgress? Last { get; private set; }
    /// <summary>Checks every step for a non-finite loss or gradient; <see cref="NonFiniteGuard.SkippedSteps"/> counts dropped steps.</summary>
    public NonFiniteGuard NonFinite => _guard;

    /// <summary>Learning rate for 0-based step <paramref name="step"/>: linear warmup, then cosine to the floor.</summary>
    public double LearningRateAt(int step) => LearningRateSchedule.WarmupCosine(step, Config.Steps, Config.WarmupSteps,
        Config.LearningRate, Config.MinLearningRateFraction);

    /// <summary>
    /// Self-play (DDO's rounds; <see cref="Train"/> calls it between them): the policy as it is now becomes the frozen
    /// reference, the next round begins and its step count restarts, with a fresh schedule. The optimizer keeps its moments.
    /// </summary>
    public void ResetReference()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Round + 1 >= Config.Rounds)
            throw new InvalidOperationException($"round {Round + 1} is the last of {Config.Rounds}: there is no next round to play");
        var next = new FrozenReference(_policy);
        _reference.Dispose();
        _reference = next;
        Round++;
        Step = 0;
    }

    /// <summary>
    /// Trains from where the run is (<see cref="Round"/>, <see cref="Step"/>) to the end of its last round, reporting
    /// every <c>LogEvery</c> steps and on each round's last (the objective's metrics beside learning rate and gradient
    /// norm, and the round when there are several; steps counted over all rounds); checks <paramref name="ct"/> every
    /// step; on a non-finite loss or gradient skips the step or throws <see cref="TrainingDivergedException"/>
    /// (<c>OnNonFinite</c>). Between rounds <see cref="ResetReference"/>. <paramref name="checkpoints"/>, if given, is
    /// offered every completed step (<see cref="CompletedSteps"/> of <see cref="TotalSteps"/>). Returns the last step's report.
    /// With <paramref name="parallel"/>, the ranks start from rank 0's policy, each scores its rows of every global batch
    /// (<see cref="IPostTrainingObjective.NextLoss"/>) and the gradients are averaged over the ring before each step; the
    /// loss and metrics reported are this rank's.
    /// </summary>
    public TrainingProgress Train(IPostTrainingObjective objective, IProgress<TrainingProgress>? progress, CancellationToken ct,
        DataParallel? parallel = null, PeriodicCheckpoint? checkpoints = null)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var sync = DataParallel.Start(parallel, _policy.parameters());
        // The objective's loss is a mean over this rank's rows; the ring divides the sum over ranks by their number. Scaled
        // by ranks x rows / global batch, the averaged gradient is the global batch's mean, also when a rank runs several
        // workers' slices (min_workers) and the ranks hold unequal shares.
        double scale = parallel is null ? 1 : (double)parallel.WorldSize * parallel.RowsPerStep(Config.BatchSize) / Config.BatchSize;
        var clock = Stopwatch.StartNew();
        double lastReport = 0;
        int sinceReport = 0; // images since the last report
        while (true)
        {
            while (Step < Config.Steps)
            {
                ct.ThrowIfCancellationRequested();
                using (var scope = torch.NewDisposeScope())
                {
                    double lr = LearningRateAt(Step);
                    foreach (var group in _optimizer.ParamGroups) group.LearningRate = lr;
                    _guard.BeginStep();
                    _optimizer.zero_grad();
                    var result = objective.NextLoss(_policy, _reference, Config.BatchSize, parallel);
                    var lossTensor = _guard.Observe(CompletedSteps + 1, result.Loss);
                    (scale == 1 ? lossTensor : lossTensor.mul(scale)).backward();
                    var verdict = _guard.Complete(CompletedSteps + 1, lossTensor, sync, Config.GradClip,
                        () => $"Learning rate was {lr:G3}; lower it or beta ({Config.Beta:G3}).");
                    if (verdict.Apply) _optimizer.step();
                    Step++;
                    sinceReport += objective.ImagesPerStep(Config.BatchSize);

                    double now = clock.Elapsed.TotalSeconds;
                    var metrics = new Dictionary<string, double>(result.Metrics)
                    {
                        ["learning_rate"] = lr, ["grad_norm"] = verdict.GradNorm, ["skipped_steps"] = _guard.SkippedSteps,
                    };
                    if (Config.Rounds > 1) metrics["round"] = Round + 1;
                    Last = new TrainingProgress(objective.Name, CompletedSteps, TotalSteps, verdict.Loss,
                        sinceReport / Math.Max(1e-9, now - lastReport), metrics);
                    if (Step % Config.LogEvery == 0 || Step == Config.Steps)
                    {
                        progress?.Report(Last);
                        lastReport = now;
                        sinceReport = 0;
                    }
                }
                // Outside the step's scope: a checkpoint writes weights, not the step's temporaries.
                checkpoints?.AfterStep(CompletedSteps, TotalSteps);
            }
            if (Round + 1 >= Config.Rounds) break;
            ResetReference(); // DDO self-play: the model as it is now is the next round's reference
        }
        return Last ?? throw new InvalidOperationException($"no steps to run: step {Step} of {Config.Steps}, round {Round + 1} of {Config.Rounds}");
    }

    /// <summary>
    /// Writes the policy as it is now as a generator checkpoint (<see cref="GeneratorTrainer.SaveCheckpoint"/>'s format,
    /// its config with this run's dropout) at <paramref name="step"/>, so samplers and eval stages load it like a
    /// pretrained generator. The optimizer moments are not kept: they belong to this objective, not to further
    /// maximum-likelihood training.
    /// </summary>
    public void SaveGeneratorCheckpoint(Stream destination, string resolvedSpec, long seed, int step)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var asGenerator = GeneratorTrainer.FromModel(_policy, seed, step, Last?.Loss ?? double.NaN);
        asGenerator.SaveCheckpoint(destination, resolvedSpec);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _guard.Dispose();
        _optimizer.Dispose();
        _policy.Dispose();
        _reference.Dispose();
    }
}
