using Tessera.Stages;
using Tessera.Infra.Data;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Tests.Generators;
using static TorchSharp.torch;

namespace Tessera.Tests.Workflow;

/// <summary>
/// A stage restarted from a periodic checkpoint, with its batch source positioned at step x batch, ends with the
/// weights an uninterrupted run reaches: no batch seen twice or skipped, optimizer and RNG restored.
/// </summary>
[Collection(TorchCollection.Name)]
public class ResumeExactnessTests
{
    public ResumeExactnessTests() => TorchRuntime.Initialize(2);

    static readonly GeneratorConfig Config = GptGeneratorTests.Tiny with { Steps = 30, ClassDropout = 0.3, Dropout = 0.0, LogEvery = 5 };

    static List<TokenShard> Shards()
    {
        var random = new Random(5);
        return Enumerable.Range(0, 2).Select(_ =>
        {
            int count = 37; // shards of odd size, so batches straddle them
            var tokens = Enumerable.Range(0, count * Config.SequenceLength).Select(_ => random.Next(Config.CodebookSize)).ToArray();
            var labels = Enumerable.Range(0, count).Select(_ => random.Next(Config.Classes)).ToArray();
            return new TokenShard(new string('a', 64), [1, 1, 1, 3], Config.CodebookSize, tokens, labels);
        }).ToList();
    }

    [Fact]
    public void ResumingFromThePeriodicCheckpointReachesTheUninterruptedWeights()
    {
        var shards = Shards();
        var saved = new Dictionary<int, byte[]>();
        using var straight = new GeneratorTrainer(Config, CPU, seed: 4);
        straight.Train(new TokenBatchSource(shards, seed: 9), null, CancellationToken.None, checkpoint: new PeriodicCheckpoint(10, step =>
        {
            using var buffer = new MemoryStream();
            straight.SaveCheckpoint(buffer, "spec");
            saved[step] = buffer.ToArray();
        }));
        Assert.Equal([10, 20], saved.Keys.Order()); // never the last step: the stage saves that itself

        using var resumed = GeneratorTrainer.LoadCheckpoint(new MemoryStream(saved[10]), CPU);
        Assert.Equal(10, resumed.Step);
        resumed.Train(new TokenBatchSource(shards, seed: 9, position: 10L * Config.BatchSize), null, CancellationToken.None);

        Assert.Equal(30, resumed.Step);
        Assert.Equal(straight.LastLoss, resumed.LastLoss);
        foreach (var (a, b) in straight.Model.parameters().Zip(resumed.Model.parameters()))
            Assert.True(a.eq(b).all().item<bool>(), "a resumed parameter differs from the uninterrupted run's");

        // Started at the wrong data position the same checkpoint drifts: the position matters.
        using var misplaced = GeneratorTrainer.LoadCheckpoint(new MemoryStream(saved[10]), CPU);
        misplaced.Train(new TokenBatchSource(shards, seed: 9), null, CancellationToken.None);
        Assert.NotEqual(straight.LastLoss, misplaced.LastLoss);
    }
}
