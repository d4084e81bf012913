using Tessera.Infra.Data;
using Tessera.Tests.Generators;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

/// <summary>DPO with reference log-probabilities cached once per pair, and the pairs the alignment stage builds by ranking samples.</summary>
[Collection(TorchCollection.Name)]
public class CachedDpoTests
{
    private static readonly GeneratorConfig Tiny = GptGeneratorTests.Tiny;

    public CachedDpoTests() => TorchRuntime.Initialize(2);

    private static GptGenerator Model(int seed)
    {
        using var g = new Generator((ulong)seed);
        return new GptGenerator(Tiny with { Dropout = 0 }, g);
    }

    /// <summary>Random tokens, classes in turn.</summary>
    internal static TokenBatch RandomBatch(int count, int seed)
    {
        var rng = new Random(seed);
        var labels = Enumerable.Range(0, count).Select(i => i % Tiny.Classes).ToArray();
        return new TokenBatch(Enumerable.Range(0, count * Tiny.SequenceLength).Select(_ => rng.Next(Tiny.CodebookSize)).ToArray(),
            labels, count, Tiny.SequenceLength);
    }

    [Fact]
    public void CachedReferenceLogProbsEqualRecomputedOnesAndSoDoesTheLoss()
    {
        var pairs = new PreferencePairs(RandomBatch(7, 1), RandomBatch(7, 2));
        using var start = Model(3);
        using var policy = Model(4); // differs from the reference, so the loss is not the trivial ln 2
        using var reference = new FrozenReference(start);
        var cached = new CachedDpoObjective(pairs, reference, beta: 0.1, seed: 5, chunk: 3); // chunks of 3, 3, 1

        foreach (var (batch, values) in new[] { (pairs.Chosen, cached.ReferenceChosen), (pairs.Rejected, cached.ReferenceRejected) })
        {
            var (classes_B, tokens_BL) = TokenBatchTensors.From(batch, Tiny, reference.Model.Device);
            var recomputed = reference.SequenceLogProbs(classes_B, tokens_BL).data<float>().ToArray();
            Assert.Equal(7, values.Count);
            for (int i = 0; i < 7; i++) Assert.Equal(recomputed[i], values[i], 5);
        }

        // The cached objective's first batch is the sampler's first 5 pairs; the recomputing objective on exactly
        // those pairs must give the same loss and metrics.
        int[] picks = new DeterministicSampler(7, 5).Indices(0, 5);
        var subset = pairs.Select(picks);
        var fromCache = cached.NextLoss(policy, reference, 5);
        var recomputedLoss = new DpoObjective(new Repeat(subset), beta: 0.1).NextLoss(policy, reference, 5);
        Assert.NotEqual(Math.Log(2), fromCache.Loss.item<float>(), 3);
        Assert.Equal(recomputedLoss.Loss.item<float>(), fromCache.Loss.item<float>(), 5);
        foreach (var (key, value) in recomputedLoss.Metrics) Assert.Equal(value, fromCache.Metrics[key], 5);
    }

    [Fact]
    public void PairsTakeTheBestAndWorstCandidateOfTheirClassInTurn()
    {
        // Reward: the share of a sequence's tokens equal to its class index.
        static Tensor Reward(Tensor classes_R, Tensor tokens_RL) => tokens_RL.eq(classes_R.unsqueeze(1)).to(float64).mean(new long[] { 1 });
        using var model = Model(6);
        using var g = new Generator(7);
        var ranked = PreferencePairBuilder.Build(model, Reward, pairs: 5, candidates: 4, new SamplingOptions(), g, batchSize: 8);

        Assert.Equal([0, 1, 2, 0, 1], ranked.Pairs.Chosen.Labels);
        double Score(TokenBatch batch, int i) => batch.Sequence(i).ToArray().Count(t => t == batch.Labels[i]) / (double)Tiny.SequenceLength;
        var chosen = Enumerable.Range(0, 5).Select(i => Score(ranked.Pairs.Chosen, i)).ToArray();
        var rejected = Enumerable.Range(0, 5).Select(i => Score(ranked.Pairs.Rejected, i)).ToArray();
        Assert.All(Enumerable.Range(0, 5), i => Assert.True(chosen[i] >= rejected[i], $"pair {i}: chosen {chosen[i]} < rejected {rejected[i]}"));
        Assert.Equal(chosen.Average(), ranked.MeanChosenReward, 12);
        Assert.Equal(rejected.Average(), ranked.MeanRejectedReward, 12);
        Assert.InRange(ranked.MeanReward, ranked.MeanRejectedReward, ranked.MeanChosenReward);
        Assert.True(ranked.MeanChosenReward > ranked.MeanRejectedReward, "4 random candidates of 12 tokens should not all tie");
    }

    private sealed class Repeat(PreferencePairs pairs) : IPreferenceSource
    {
        public PreferencePairs Next(int batchSize) => pairs;
    }
}
