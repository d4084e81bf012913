using Tessera.Trainers;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Generators;

[Collection(TorchCollection.Name)]
public class VarGeneratorTests
{
    private static readonly GeneratorConfig Tiny = new()
    {
        Model = GeneratorConfig.ModelVar,
        Scales = [1, 2, 3],
        SequenceLength = 14,
        CodebookSize = 16,
        InputDim = 4,
        Classes = 3,
        ModelDim = 32,
        Layers = 2,
        Heads = 2,
        MlpRatio = 2,
        Dropout = 0.0,
    };

    public VarGeneratorTests() => TorchRuntime.Initialize(2);

    private static VarGenerator NewModel()
    {
        using var g = new Generator(4);
        return new VarGenerator(Tiny, g);
    }

    [Fact]
    public void MaskLetsAQuerySeeExactlyItsOwnAndCoarserScales()
    {
        var allowed = VarGenerator.BlockCausalMask(Tiny.Scales).isfinite();
        var level = new[] { 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2 };
        for (int q = 0; q < level.Length; q++)
            for (int k = 0; k < level.Length; k++)
                Assert.Equal(level[k] <= level[q], allowed[q, k].item<bool>());
    }

    [Fact]
    public void ChangingAnInputAtOneScaleChangesOnlyThatScaleAndFinerOnes()
    {
        using var model = NewModel();
        model.eval();
        using var _ = no_grad();
        using var g = new Generator(6);
        var classes = tensor(new long[] { 0, 2 });
        var inputs = randn(new long[] { 2, Tiny.SequenceLength - 1, Tiny.InputDim }, generator: g);
        var baseline = model.Forward(classes, inputs);                        // (B, L, V)
        // Input row 1 feeds sequence position 2, the second token of scale 2 (level 1, positions 1..4).
        var changed = inputs.clone();
        changed[TensorIndex.Colon, 1] += 1.0;
        var after = model.Forward(classes, changed);
        var delta = (after - baseline).abs().amax(new long[] { 0, 2 });          // (L)
        Assert.True(delta[0].item<float>() < 1e-6, "level 0 must not see level 1");
        for (int p = 1; p < Tiny.SequenceLength; p++)
            Assert.True(delta[p].item<float>() > 1e-6, $"position {p} (level >= 1) must see the change");
    }

    [Fact]
    public void GeneratesOneTokenPerPositionWithGuidanceAndIsSeeded()
    {
        using var model = NewModel();
        var inputs = new StandInInputs(Tiny);
        var options = new SamplingOptions(TopK: 8, TopP: 0.95, CfgScale: 1.5);
        using var g1 = new Generator(3);
        using var g2 = new Generator(3);
        var a = VarSampler.Generate(model, inputs, new[] { 0, 1, 2 }, options, g1);
        var b = VarSampler.Generate(model, inputs, new[] { 0, 1, 2 }, options, g2);
        Assert.Equal(new long[] { 3, Tiny.SequenceLength }, a.shape);
        Assert.True(GptGeneratorTests.Same(a, b));
        Assert.True(a.ge(0).all().item<bool>() && a.lt(Tiny.CodebookSize).all().item<bool>());
    }

    [Fact]
    public void CachedPassesPerScaleGiveTheFullForwardLogits()
    {
        using var model = NewModel();
        model.eval();
        using var _ = no_grad();
        using var g = new Generator(8);
        var classes = tensor(new long[] { 1, 3 }); // 3 is the null class
        var inputs = randn(new long[] { 2, Tiny.SequenceLength - 1, Tiny.InputDim }, generator: g);
        var full = model.Forward(classes, inputs); // (B, L, V)
        using var cache = model.NewCache(2);
        var condition = model.Condition(classes);
        int start = 0;
        foreach (int s in Tiny.Scales)
        {
            int count = s * s;
            var scaleInputs = start == 0 ? null : inputs.narrow(1, start - 1, count); // position p reads input row p - 1
            var cached = model.ForwardScale(condition, scaleInputs, cache);
            Assert.Equal(new long[] { 2, count, Tiny.CodebookSize }, cached.shape);
            double error = (cached - full.narrow(1, start, count)).abs().max().item<float>();
            Assert.True(error < 1e-5, $"scale {s}: cached logits differ by {error}");
            start += count;
        }
        Assert.Equal(Tiny.SequenceLength, cache.Length);
    }

    [Fact]
    public void KvCacheSamplingEqualsUncachedSamplingForTheSameSeed()
    {
        using var model = NewModel();
        var inputs = new StandInInputs(Tiny);
        var classes = new[] { 0, 1, 2, 2 };
        foreach (var options in new[] { new SamplingOptions(), new SamplingOptions(Temperature: 0.8, TopK: 8, TopP: 0.9, CfgScale: 2.0) })
        {
            using var g1 = new Generator(12);
            using var g2 = new Generator(12);
            var cached = VarSampler.Generate(model, inputs, classes, options, g1, useCache: true);
            var uncached = VarSampler.Generate(model, inputs, classes, options, g2, useCache: false);
            Assert.Equal(new long[] { classes.Length, Tiny.SequenceLength }, cached.shape);
            Assert.True(GptGeneratorTests.Same(cached, uncached), options.ToString());
        }
    }

    /// <summary>A fixed random code vector per token id, averaged over the tokens so far, repeated over the next scale.</summary>
    private sealed class StandInInputs(GeneratorConfig config) : IScaleInputs
    {
        private readonly Tensor _codes = randn(new long[] { config.CodebookSize, config.InputDim }, generator: new Generator(1));
        public IReadOnlyList<int> Scales => config.Scales;
        public int InputDim => config.InputDim;

        public Tensor NextScaleInput(Tensor tokensSoFar_BLk)
        {
            long done = tokensSoFar_BLk.shape[1];
            int next = config.Scales.Select((s, k) => (s, k)).First(p => config.Scales.Take(p.k).Sum(x => x * x) == done).s;
            return _codes.index_select(0, tokensSoFar_BLk.reshape(-1)).reshape(tokensSoFar_BLk.shape[0], done, -1)
                .mean(new long[] { 1 }, keepdim: true).expand(-1, next * next, -1);
        }

        public Tensor TeacherForcingInputs(Tensor tokens_BL) => throw new NotSupportedException();
    }
}
