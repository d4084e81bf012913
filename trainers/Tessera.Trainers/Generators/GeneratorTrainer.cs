using Tessera.Infra.Data;
using Tessera.Trainers.Data;
using Tessera.Trainers.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Trains a <see cref="TokenGenerator"/> (raster GPT: next-token; VAR: next-scale) by cross-entropy on token
/// sequences, with class dropout to the null class (for guidance), AdamW, warmup then cosine decay and
/// gradient clipping. Runs
/// synchronously on the caller's thread; one instance per thread. Same config, seed and batch stream =>
/// identical weights.
/// </summary>
public sealed partial class GeneratorTrainer : ModelTrainer<GeneratorConfig, TokenGenerator>
{
    public const string Stage = "generator";

    /// <param name="scaleInputs">The multi-scale tokenizer's scale inputs; required for a VAR model, ignored by the GPT.</param>
    public GeneratorTrainer(GeneratorConfig config, Device device, long seed, IScaleInputs? scaleInputs = null)
        : base(Stage, config, device, seed, generator => TokenGenerator.Create(config, generator, scaleInputs))
    {
    }

    private GeneratorTrainer(TokenGenerator model, long seed, int step, double lastLoss)
        : base(Stage, model.Config, model.Copy(), model.Device, seed, step, lastLoss)
    {
    }

    /// <summary>
    /// A trainer around a copy of <paramref name="model"/> (its config and weights) at <paramref name="step"/>, with
    /// fresh optimizer moments: how a model trained elsewhere, e.g. a post-trained policy, is saved as a generator
    /// checkpoint that every sampler and eval stage loads like any other.
    /// </summary>
    public static GeneratorTrainer FromModel(TokenGenerator model, long seed, int step, double lastLoss)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new GeneratorTrainer(model, seed, step, lastLoss);
    }

    protected override string CheckpointFormatName => CheckpointFormat;

    /// <summary>
    /// Trains from <see cref="Step"/> to <c>Config.Steps</c>. Reports every <c>LogEvery</c> steps and on the last;
    /// checks <paramref name="ct"/> every step; on a non-finite loss or gradient skips the step or throws
    /// <see cref="TrainingDivergedException"/> (<c>OnNonFinite</c>).
    /// Returns the last step's loss. With <paramref name="parallel"/>, <paramref name="source"/> yields this rank's
    /// slice of each global batch, the ranks start from rank 0's weights and average gradients every step.
    /// <paramref name="checkpoint"/>, if given, saves the trainer every few steps (see <see cref="PeriodicCheckpoint"/>).
    /// </summary>
    public double Train(ITokenBatchSource source, IProgress<TrainingProgress>? progress, CancellationToken ct, DataParallel? parallel = null,
        PeriodicCheckpoint? checkpoint = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int rows = parallel?.RowsPerStep(Config.BatchSize) ?? Config.BatchSize;  // this rank's rows of each global batch
        using var sync = DataParallel.Start(parallel, _model.parameters());
        var training = new TrainingStep(_optimizer, _guard, parallel, sync, Config.BatchSize, Config.GradClip);
        var reporter = new ProgressReporter(Stage, Config.Steps, Config.LogEvery, progress);
        _model.train();
        while (Step < Config.Steps)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var batch = source.Next(Config.BatchSize);
            if (parallel is not null && batch.Count != rows)
                throw new InvalidOperationException($"the batch source gave {batch.Count} sequences, rank {parallel.Rank} trains on {rows}");
            var (classes_B, tokens_BN) = ToTensors(batch);
            // Drawn for the whole global batch and sliced, so every rank consumes the generator alike and the
            // ranks together drop exactly the labels a single rank would.
            long drawn = parallel is null ? batch.Count : Config.BatchSize;
            var droppedGlobal_B = bernoulli(full(new[] { drawn }, Config.ClassDropout, device: _device), _generator).to(@bool);

            double lr = LearningRateAt(Step);
            var verdict = training.Take(Step + 1, lr, micro =>
            {
                var trainClasses_M = classes_B.narrow(0, micro.Start, micro.Count)
                    .masked_fill(droppedGlobal_B.narrow(0, micro.GlobalStart, micro.Count), _model.NullClass);
                return _model.TrainingLoss(trainClasses_M, tokens_BN.narrow(0, micro.Start, micro.Count));
            }, () => $"Learning rate was {lr:G3}; lower it (config learning_rate {Config.LearningRate:G3}) or the grad clip.");
            if (verdict.Apply) LastLoss = verdict.Loss;
            Step++;
            reporter.Count(Config.BatchSize);
            if (reporter.Due(Step))
                reporter.Report(Step, LastLoss, new Dictionary<string, double>
                {
                    ["learning_rate"] = lr,
                    ["grad_norm"] = verdict.GradNorm,
                    ["skipped_steps"] = _guard.SkippedSteps,
                });
            checkpoint?.AfterStep(Step, Config.Steps);
        }
        return LastLoss;
    }

    /// <summary>Mean next-token cross-entropy (nats) of <paramref name="batch"/> with its true classes, in eval mode.</summary>
    public double Evaluate(TokenBatch batch, int chunk = 500)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (batch.Count == 0) throw new ArgumentException("no sequences to evaluate", nameof(batch));
        _model.eval();
        try
        {
            double total = 0;
            for (int start = 0; start < batch.Count; start += chunk)
            {
                using var scope = torch.NewDisposeScope();
                using var _ = no_grad();
                int count = Math.Min(chunk, batch.Count - start);
                var part = new TokenBatch(batch.Tokens[(start * batch.Length)..((start + count) * batch.Length)],
                    batch.Labels[start..(start + count)], count, batch.Length);
                var (classes_B, tokens_BN) = ToTensors(part);
                total += _model.TrainingLoss(classes_B, tokens_BN).item<float>() * count;
            }
            return total / batch.Count;
        }
        finally
        {
            _model.train();
        }
    }

    private (Tensor Classes_B, Tensor Tokens_BN) ToTensors(TokenBatch batch) => TokenBatchTensors.From(batch, Config, _device);
}
