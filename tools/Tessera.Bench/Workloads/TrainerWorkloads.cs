using Tessera.Infra.Data;
using Tessera.Trainers.Data;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using static TorchSharp.torch;

using Tessera.Trainers;

namespace Tessera.Bench.Workloads;

/// <summary>
/// The project's own trainers as step workloads: each runs its real training loop (the one a stage runs) for the
/// workload's steps on one fixed random batch of the right shape, without progress reports. Step boundaries come
/// from the batch source (asked once at the start of every step) or, for the classifier, which samples its own
/// batches, from a progress report every step.
/// </summary>
public abstract class TrainerWorkload : IStepWorkload
{
    protected TrainerWorkload(string name, int batchSize, int steps, long seed, object config)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "need at least one step");
        Name = name;
        BatchSize = batchSize;
        Steps = steps;
        Seed = seed;
        Settings = new Dictionary<string, object> { ["trainer_config"] = config, ["data"] = "one fixed random batch" };
    }

    public string Name { get; }
    public int BatchSize { get; }
    public int Steps { get; }
    public long Parameters { get; protected set; }
    public IReadOnlyDictionary<string, object> Settings { get; }
    protected long Seed { get; }

    public abstract double Run(Action<int> boundary);

    public virtual void Dispose() { }

    /// <summary>Random 8-bit images (count, C, H, W) with random labels, from <paramref name="seed"/>.</summary>
    protected static ImageBatch RandomImages(int count, int channels, int side, int classes, long seed)
    {
        var random = new Random((int)seed);
        var pixels = new byte[count * channels * side * side];
        random.NextBytes(pixels);
        return new ImageBatch(pixels, Enumerable.Range(0, count).Select(_ => random.Next(classes)).ToArray(), count, channels, side, side);
    }

    /// <summary>Hands out the same batch every step and marks each step's start.</summary>
    protected sealed class FixedSource(object batch, Action<int> boundary) : IBatchSource, ITokenBatchSource
    {
        private int _step;

        ImageBatch IBatchSource.Next(int batchSize) => Mark((ImageBatch)batch);
        TokenBatch ITokenBatchSource.Next(int batchSize) => Mark((TokenBatch)batch);

        private T Mark<T>(T next)
        {
            boundary(_step++);
            return next;
        }
    }
}

/// <summary>A `generator` stage's <see cref="GeneratorTrainer"/> on random tokens and labels.</summary>
public sealed class GeneratorWorkload(string name, GeneratorConfig config, Device device, long seed, int steps)
    : TrainerWorkload(name, config.BatchSize, steps, seed, config with { Steps = steps })
{
    public override double Run(Action<int> boundary)
    {
        using var trainer = new GeneratorTrainer(config with { Steps = Steps }, device, Seed);
        Parameters = trainer.Model.parameters().Sum(p => p.numel());
        var random = new Random((int)Seed);
        var tokens = Enumerable.Range(0, BatchSize * config.SequenceLength).Select(_ => random.Next(config.CodebookSize)).ToArray();
        var labels = Enumerable.Range(0, BatchSize).Select(_ => random.Next(config.Classes)).ToArray();
        var source = new FixedSource(new TokenBatch(tokens, labels, BatchSize, config.SequenceLength), boundary);
        return trainer.Train(source, progress: null, CancellationToken.None);
    }
}

/// <summary>A `tokenizer` stage's <see cref="VqTokenizerTrainer"/> (either kind) on random images.</summary>
public sealed class TokenizerWorkload(string name, VqTokenizerConfig config, Device device, long seed, int steps)
    : TrainerWorkload(name, config.BatchSize, steps, seed, config with { Steps = steps })
{
    public override double Run(Action<int> boundary)
    {
        using var trainer = new VqTokenizerTrainer(config with { Steps = Steps }, device, Seed);
        Parameters = trainer.Model.parameters().Sum(p => p.numel());
        var images = RandomImages(BatchSize, config.ImageChannels, config.ImageSize, classes: 10, Seed);
        // Train ends with a held-out evaluation; one image keeps it short, and it runs after the last boundary.
        var heldOut = ImageTensors.Slice(images, 0, 1);
        return trainer.Train(new FixedSource(images, boundary), heldOut, progress: null, CancellationToken.None).FinalLoss;
    }
}

/// <summary>A `classifier` stage's <see cref="DigitClassifierTrainer"/> on random images (it draws its own batches).</summary>
public sealed class ClassifierWorkload(string name, DigitClassifierConfig config, Device device, long seed, int steps)
    : TrainerWorkload(name, config.BatchSize, steps, seed, config with { Steps = steps, LogEvery = 1 })
{
    public override double Run(Action<int> boundary)
    {
        using var trainer = new DigitClassifierTrainer(config with { Steps = Steps, LogEvery = 1 }, device, Seed);
        Parameters = trainer.Model.parameters().Sum(p => p.numel());
        var images = RandomImages(4 * BatchSize, config.ImageChannels, side: 28, config.Classes, Seed);
        boundary(0);
        // A report follows every step (LogEvery 1): the end of step k-1 is the start of step k.
        var progress = new Boundaries(report => { if (report.Step < Steps) boundary(report.Step); });
        return trainer.Train(images, progress, CancellationToken.None);
    }

    /// <summary>Synchronous, unlike <see cref="Progress{T}"/>, which posts to a synchronization context.</summary>
    private sealed class Boundaries(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
