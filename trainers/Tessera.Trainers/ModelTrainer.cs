using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers;

/// <summary>The hyperparameters every training loop reads the same way: length, batch, AdamW and its schedule, logging.</summary>
public interface ITrainingSchedule
{
    int Steps { get; }
    int BatchSize { get; }
    double LearningRate { get; }
    int WarmupSteps { get; }
    /// <summary>Cosine decay ends at this fraction of the peak rate.</summary>
    double MinLearningRateFraction { get; }
    double WeightDecay { get; }
    /// <summary>What a non-finite loss or gradient does (<see cref="NonFinitePolicy"/>).</summary>
    string OnNonFinite { get; }
    int LogEvery { get; }
    /// <summary>Throws an ArgumentException naming the first bad field.</summary>
    void Validate();
}

/// <summary>
/// What the tokenizer, generator and classifier trainers share: a seeded model on its device, AdamW over its parameters
/// with warmup and cosine decay, the <see cref="NonFiniteGuard"/>, the step reached, and checkpoints of all of that.
/// Subclasses add their loop (<c>Train</c>, built from <see cref="TrainingStep"/>) and what they evaluate. Runs
/// synchronously on the caller's thread; one instance per thread.
/// </summary>
public abstract class ModelTrainer<TConfig, TModel> : IDisposable
    where TConfig : ITrainingSchedule
    where TModel : nn.Module
{
    protected readonly TModel _model;
    protected readonly TorchSharp.Modules.AdamW _optimizer;
    /// <summary>Every random draw of the trainer and its model (initial weights, shifts, restarts, label dropout).</summary>
    protected readonly Generator _generator;
    protected readonly Device _device;
    protected readonly NonFiniteGuard _guard;
    protected bool _disposed;

    /// <summary>A fresh model from <paramref name="create"/>, weights drawn from the trainer's generator.</summary>
    protected ModelTrainer(string stage, TConfig config, Device device, long seed, Func<Generator, TModel> create)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Seed = seed;
        _device = device;
        torch.manual_seed(seed); // dropout draws from libtorch's global RNG; everything else uses _generator
        _generator = new Generator((ulong)seed);
        _model = create(_generator);
        _model.to(device);
        // Created after the move: to(device) replaces parameters.
        _optimizer = optim.AdamW(_model.parameters(), lr: config.LearningRate, weight_decay: config.WeightDecay);
        _guard = new NonFiniteGuard(stage, config.OnNonFinite, _model);
    }

    /// <summary>Around <paramref name="model"/>, already on <paramref name="device"/>, at <paramref name="step"/>, with fresh optimizer moments.</summary>
    protected ModelTrainer(string stage, TConfig config, TModel model, Device device, long seed, int step, double lastLoss)
    {
        Config = config;
        Seed = seed;
        _device = device;
        _generator = new Generator((ulong)seed);
        _model = model;
        _optimizer = optim.AdamW(_model.parameters(), lr: config.LearningRate, weight_decay: config.WeightDecay);
        _guard = new NonFiniteGuard(stage, config.OnNonFinite, _model);
        Step = step;
        LastLoss = lastLoss;
    }

    public TConfig Config { get; }
    public long Seed { get; }
    public TModel Model => _model;
    /// <summary>Optimizer steps completed; <c>Train</c> continues from here up to <c>Config.Steps</c>.</summary>
    public int Step { get; protected set; }
    /// <summary>Loss of the latest applied step (NaN before any).</summary>
    public double LastLoss { get; protected set; } = double.NaN;
    /// <summary>The resolved spec text this trainer was restored with, if it came from a checkpoint.</summary>
    public string? ResolvedSpec { get; private set; }
    /// <summary>Checks every step for a non-finite loss or gradient; <see cref="NonFiniteGuard.SkippedSteps"/> counts dropped steps.</summary>
    public NonFiniteGuard NonFinite => _guard;

    /// <summary>Learning rate for 0-based step <paramref name="step"/>: linear warmup, then cosine to the floor.</summary>
    public double LearningRateAt(int step) => LearningRateSchedule.WarmupCosine(step, Config.Steps, Config.WarmupSteps,
        Config.LearningRate, Config.MinLearningRateFraction);

    /// <summary>The name checkpoints of this trainer carry in trainer.json and are checked against on load.</summary>
    protected abstract string CheckpointFormatName { get; }

    /// <summary>
    /// Writes a self-contained checkpoint (a zip) to <paramref name="destination"/>, which stays open: trainer.json
    /// (format, step, seed, last loss), config.json, spec.txt (the resolved job spec as given), model.bin,
    /// optimizer.bin (AdamW moments) and rng.bin (the trainer's generator).
    /// </summary>
    public void SaveCheckpoint(Stream destination, string resolvedSpec)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(resolvedSpec);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckpointZip.WriteTrainer(destination, new CheckpointHeader(CheckpointFormatName, Step, Seed, LastLoss), Config, resolvedSpec,
            _model, _optimizer, _generator);
    }

    /// <summary>Puts a checkpoint's model, optimizer, generator, step and spec into this trainer (built from its config and seed).</summary>
    private protected void RestoreFrom(ZipArchive zip, CheckpointHeader state)
    {
        CheckpointZip.ReadTrainer(zip, _model, _optimizer, _generator);
        (Step, LastLoss, ResolvedSpec) = (state.Step, state.LastLoss, CheckpointZip.ReadSpec(zip));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _guard.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
        _generator.Dispose();
        GC.SuppressFinalize(this);
    }
}
