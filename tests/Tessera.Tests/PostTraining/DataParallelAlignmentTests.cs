using Tessera.Infra.Data;
using Tessera.Tests.Distributed;
using Tessera.Tests.Generators;
using Tessera.Trainers;
using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

/// <summary>
/// Data-parallel post-training: 2 ranks over the real gRPC ring, each scoring its half of a global batch of 2B, end with
/// the weights of 1 rank on the whole 2B (fp32, fixed data, dropout off). CCA's pairs (the shifted class, the null
/// draws) and DPO's pair order are drawn for the global batch on every rank, so the halves add up to the whole.
/// </summary>
[Collection(TorchCollection.Name)]
public class DataParallelAlignmentTests
{
    private static readonly GeneratorConfig Tiny = GptGeneratorTests.Tiny;
    private const int Batch = 12;

    public DataParallelAlignmentTests() => TorchRuntime.Initialize(2);

    private static PostTrainingConfig Config(string objective) => PostTrainingConfig.For(objective) with
    {
        Steps = 4, BatchSize = Batch, LearningRate = 1e-3, WarmupSteps = 0, LogEvery = 2, Beta = 0.5, Lambda = 3, NullRatio = 0.25,
    };

    /// <summary>A fresh objective over the same fixed data, with its draws seeded alike (each rank builds its own).</summary>
    private static IPostTrainingObjective Objective(string kind, FrozenReference reference)
    {
        var data = CachedDpoTests.RandomBatch(Batch, 1);
        return kind == PostTrainingConfig.ObjectiveCca
            ? new CcaObjective(new GptGeneratorTests.RepeatSource(data), Config(kind), new Generator(7))
            : new CachedDpoObjective(new PreferencePairs(data, CachedDpoTests.RandomBatch(Batch, 2)), reference, beta: 0.5, seed: 7);
    }

    /// <summary>The trained weights, then the last step's loss of this rank (its rows' mean).</summary>
    private static float[] Train(string kind, DataParallel? parallel)
    {
        using var scope = NewDisposeScope();
        using var init = new Generator(3);
        using var start = new GptGenerator(Tiny with { Dropout = 0 }, init);
        using var trainer = new PostTrainer(start, Config(kind), seed: 1);
        var last = trainer.Train(Objective(kind, trainer.Reference), null, CancellationToken.None, parallel);
        return [.. trainer.Policy.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()), (float)last.Loss];
    }

    [Theory]
    [InlineData(PostTrainingConfig.ObjectiveCca)]
    [InlineData(PostTrainingConfig.ObjectiveDpo)]
    public async Task TwoRanksOfHalfTheBatchMatchOneRankOfTheWholeBatch(string kind)
    {
        float[] single = Train(kind, parallel: null)[..^1];
        float[][] trained = await DataParallelEquivalenceTests.OnRing(2, (rank, reducer) => Train(kind, new DataParallel(rank, 2, reducer)));
        float[][] replicas = trained.Select(t => t[..^1]).ToArray();

        Assert.Equal(replicas[0], replicas[1]); // every rank holds the same weights
        Assert.NotEqual(trained[0][^1], trained[1][^1]); // but each scored other rows: its own half of the batch
        using var scope = NewDisposeScope();
        using var init = new Generator(3);
        using var start = new GptGenerator(Tiny with { Dropout = 0 }, init);
        float[] before = start.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
        Assert.NotEqual(before, single); // training moved the weights
        double difference = Math.Sqrt(single.Zip(replicas[0], (a, b) => (double)(a - b) * (a - b)).Sum());
        double moved = Math.Sqrt(single.Zip(before, (a, b) => (double)(a - b) * (a - b)).Sum());
        double relative = difference / Math.Sqrt(single.Sum(a => (double)a * a));
        Assert.True(relative < 1e-5, $"relative difference ||single - replica|| / ||single|| = {relative} (training moved them by {moved})");
        Assert.True(difference < 1e-2 * moved, $"the replicas differ from the single rank by {difference}, training moved it by {moved}");
    }
}
