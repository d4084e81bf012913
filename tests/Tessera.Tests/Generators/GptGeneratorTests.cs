using Tessera.Infra.Data;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Generators;

[Collection(TorchCollection.Name)]
public class GptGeneratorTests
{
    /// <summary>Tiny enough that a forward pass is a millisecond and overfitting one batch takes a second or two.</summary>
    internal static readonly GeneratorConfig Tiny = new()
    {
        SequenceLength = 12,
        CodebookSize = 16,
        Classes = 3,
        ModelDim = 32,
        Layers = 2,
        Heads = 2,
        MlpRatio = 2,
        Dropout = 0.0,
        ClassDropout = 0.0,
        Steps = 150,
        BatchSize = 8,
        LearningRate = 3e-3,
        WarmupSteps = 10,
        WeightDecay = 0.0,
        LogEvery = 10,
    };

    public GptGeneratorTests() => TorchRuntime.Initialize(2);

    private static GptGenerator NewModel(int seed = 3)
    {
        using var g = new Generator((ulong)seed);
        var model = new GptGenerator(Tiny, g);
        model.eval();
        return model;
    }

    private static Tensor RandomTokens(long b, long t, int seed)
    {
        using var g = new Generator((ulong)seed);
        return randint(0, Tiny.CodebookSize, new[] { b, t }, generator: g);
    }

    [Fact]
    public void ChangingAFutureTokenLeavesEarlierLogitsUnchanged()
    {
        using var model = NewModel();
        using var _ = no_grad();
        var classes = tensor(new long[] { 0, 2 });
        var tokens = RandomTokens(2, Tiny.SequenceLength - 1, 5);
        var changed = tokens.clone();
        int k = 6;
        changed[TensorIndex.Colon, k] = (changed[TensorIndex.Colon, k] + 1) % Tiny.CodebookSize;
        var a = model.Forward(classes, tokens);   // (B, N, V); input token k sits at position k+1
        var b = model.Forward(classes, changed);
        Assert.True(a.narrow(1, 0, k + 1).allclose(b.narrow(1, 0, k + 1), rtol: 0, atol: 1e-6));
        Assert.False(a.narrow(1, k + 1, 1).allclose(b.narrow(1, k + 1, 1), rtol: 0, atol: 1e-4));
    }

    [Fact]
    public void CachedStepsMatchTheFullForwardPass()
    {
        using var model = NewModel();
        using var _ = no_grad();
        var classes = tensor(new long[] { 1, 3 });
        var tokens = RandomTokens(2, Tiny.SequenceLength - 1, 8);
        var full = model.Forward(classes, tokens);
        using var cache = model.NewCache(2);
        for (int t = 0; t < Tiny.SequenceLength; t++)
        {
            var step = model.Step(classes, t == 0 ? null : tokens.select(1, t - 1), cache);
            Assert.True(step.allclose(full.select(1, t), rtol: 1e-4, atol: 1e-5), $"position {t}");
        }
    }

    [Fact]
    public void KvCacheSamplingEqualsUncachedSamplingForTheSameSeed()
    {
        using var model = NewModel();
        var classes = new[] { 0, 1, 2, 0, 1 };
        foreach (var options in new[] { new SamplingOptions(), new SamplingOptions(Temperature: 0.8, TopK: 5, TopP: 0.9, CfgScale: 2.0) })
        {
            using var g1 = new Generator(11);
            using var g2 = new Generator(11);
            var cached = GptSampler.Generate(model, classes, options, g1, useCache: true);
            var uncached = GptSampler.Generate(model, classes, options, g2, useCache: false);
            Assert.Equal(new long[] { classes.Length, Tiny.SequenceLength }, cached.shape);
            Assert.True(Same(cached, uncached), options.ToString());
        }
    }

    [Fact]
    public void GuidanceScaleOneEqualsConditionalSampling()
    {
        using var model = NewModel();
        var classes = new[] { 2, 1, 0 };
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        var conditional = GptSampler.Generate(model, classes, new SamplingOptions(TopK: 8), g1);
        var guided = GptSampler.Generate(model, classes, new SamplingOptions(TopK: 8, CfgScale: 1.0), g2);
        Assert.True(Same(conditional, guided));
    }

    [Fact]
    public void TopKOneIsGreedy()
    {
        using var model = NewModel();
        var classes = new[] { 0, 2 };
        using var g = new Generator(9);
        var sampled = GptSampler.Generate(model, classes, new SamplingOptions(Temperature: 1.7, TopK: 1), g);
        // Greedy by hand: feed the argmax of every step's full-forward logits.
        using var _ = no_grad();
        var classes_B = tensor(new long[] { 0, 2 });
        var greedy = zeros(new long[] { 2, 0 }, dtype: int64);
        for (int t = 0; t < Tiny.SequenceLength; t++)
        {
            var next = model.Forward(classes_B, greedy).select(1, t).argmax(-1).unsqueeze(1);
            greedy = cat(new[] { greedy, next }, 1);
        }
        Assert.True(Same(sampled, greedy));
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        var logits = tensor(new float[] { 0, 0, 0, 0 }).log_softmax(0).unsqueeze(0);
        var probs = tensor(new float[] { 0.5f, 0.3f, 0.15f, 0.05f }).log().unsqueeze(0);
        var kept = TokenSampling.Filter(probs, new SamplingOptions(TopP: 0.75)).isfinite();
        Assert.Equal(new[] { true, true, false, false }, kept.squeeze(0).data<bool>().ToArray());
        Assert.Equal(4, TokenSampling.Filter(logits, new SamplingOptions(TopP: 0.99)).isfinite().sum().item<long>());
    }

    [Fact]
    public void TinyGeneratorOverfitsOneBatch()
    {
        var rng = new Random(4);
        // One random sequence per class, so the class token determines everything and the loss can reach 0.
        var tokens = Enumerable.Range(0, Tiny.Classes * Tiny.SequenceLength).Select(_ => rng.Next(Tiny.CodebookSize)).ToArray();
        var batch = new TokenBatch(tokens, Enumerable.Range(0, Tiny.Classes).ToArray(), Tiny.Classes, Tiny.SequenceLength);
        using var trainer = new GeneratorTrainer(Tiny with { BatchSize = Tiny.Classes }, CPU, seed: 1);
        var reports = new List<TrainingProgress>();
        double last = trainer.Train(new RepeatSource(batch), new Collect(reports), CancellationToken.None);
        Assert.True(reports[0].Loss > 2.0, $"first loss {reports[0].Loss}");
        Assert.True(last < 0.1, $"final loss {last}");
        Assert.True(trainer.Evaluate(batch) < 0.1);
        Assert.Equal(Tiny.Steps / Tiny.LogEvery, reports.Count);
    }

    [Fact]
    public void CancellationStopsTraining()
    {
        using var trainer = new GeneratorTrainer(Tiny, CPU, seed: 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => trainer.Train(new RepeatSource(OneBatch()), null, cts.Token));
        Assert.Equal(0, trainer.Step);
    }

    [Fact]
    public void NonFiniteLossThrowsDiverged()
    {
        using var trainer = new GeneratorTrainer(Tiny with { LearningRate = 1e30, WarmupSteps = 0, GradClip = 1e30 }, CPU, seed: 1);
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.Train(new RepeatSource(OneBatch()), null, CancellationToken.None));
        Assert.Equal(GeneratorTrainer.Stage, ex.Stage);
    }

    /// <summary>Same shape and every element equal.</summary>
    internal static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    internal static TokenBatch OneBatch() =>
        new(Enumerable.Range(0, 8 * Tiny.SequenceLength).Select(i => (i * 7) % Tiny.CodebookSize).ToArray(),
            Enumerable.Range(0, 8).Select(i => i % Tiny.Classes).ToArray(), 8, Tiny.SequenceLength);

    internal sealed class RepeatSource(TokenBatch batch) : Tessera.Trainers.Data.ITokenBatchSource
    {
        public TokenBatch Next(int batchSize) => batch;
    }

    internal sealed class Collect(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }
}
