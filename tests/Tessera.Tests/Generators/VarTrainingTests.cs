using Tessera.Infra.Data;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Generators;

/// <summary>The VAR path against a real (small, untrained) multi-scale tokenizer: inputs, training, checkpoints, guidance.</summary>
[Collection(TorchCollection.Name)]
public class VarTrainingTests
{
    private static readonly VqTokenizerConfig TokenizerConfig = new()
    {
        Kind = VqTokenizerConfig.KindMsVq, ImageSize = 28, ImageChannels = 1, ScaleSchedule = "1,3,7", HiddenChannels = 8, LatentChannels = 8, CodebookSize = 16, CodeDim = 4,
    };

    internal static readonly GeneratorConfig Tiny = new()
    {
        Model = GeneratorConfig.ModelVar, Scales = [1, 3, 7], SequenceLength = 59, InputDim = 4, CodebookSize = 16, Classes = 3,
        ModelDim = 32, Layers = 2, Heads = 2, MlpRatio = 2, Dropout = 0.0, ClassDropout = 0.0,
        Steps = 150, BatchSize = 3, LearningRate = 3e-3, WarmupSteps = 10, WeightDecay = 0.0, LogEvery = 10,
    };

    public VarTrainingTests() => TorchRuntime.Initialize(2);

    internal static MsVqTokenizer NewTokenizer()
    {
        using var g = new Generator(7);
        var tokenizer = new MsVqTokenizer(TokenizerConfig, g);
        tokenizer.eval();
        return tokenizer;
    }

    /// <summary>One random sequence per class, so the class decides every token and the loss can reach 0.</summary>
    private static TokenBatch OnePerClass(int seed)
    {
        var rng = new Random(seed);
        var tokens = Enumerable.Range(0, Tiny.Classes * Tiny.SequenceLength).Select(_ => rng.Next(Tiny.CodebookSize)).ToArray();
        return new TokenBatch(tokens, Enumerable.Range(0, Tiny.Classes).ToArray(), Tiny.Classes, Tiny.SequenceLength);
    }

    [Fact]
    public void GenerationInputsEqualTheTeacherForcingInputsOfTheSameTokens()
    {
        using var tokenizer = NewTokenizer();
        using var g = new Generator(3);
        var tokens = randint(0, 16, new long[] { 2, 59 }, generator: g);
        var teacher = tokenizer.TeacherForcingInputs(tokens);                 // (2, 58, 4): scale 2 (9), scale 3 (49)
        Assert.Equal(new long[] { 2, 58, 4 }, teacher.shape);
        var scale2 = tokenizer.NextScaleInput(tokens.narrow(1, 0, 1));
        var scale3 = tokenizer.NextScaleInput(tokens.narrow(1, 0, 10));
        Assert.True(scale2.allclose(teacher.narrow(1, 0, 9), rtol: 1e-5, atol: 1e-6));
        Assert.True(scale3.allclose(teacher.narrow(1, 9, 49), rtol: 1e-5, atol: 1e-6));
        Assert.Throws<ArgumentException>(() => tokenizer.NextScaleInput(tokens.narrow(1, 0, 5)));
    }

    [Fact]
    public void TheGenerationCursorGivesTheSameInputsAsRebuildingFromAllTokens()
    {
        using var tokenizer = NewTokenizer();
        using var g = new Generator(5);
        var tokens = randint(0, 16, new long[] { 2, 59 }, generator: g);
        using var cursor = tokenizer.StartGeneration();
        foreach (long soFar in new long[] { 1, 10 })
        {
            var kept = cursor.Next(tokens.narrow(1, 0, soFar));
            var rebuilt = tokenizer.NextScaleInput(tokens.narrow(1, 0, soFar));
            Assert.True(kept.allclose(rebuilt, rtol: 1e-5, atol: 1e-6), $"after {soFar} tokens");
        }
        // Past the last scale's input there is nothing to give; a skipped scale is refused, not guessed.
        Assert.Throws<ArgumentException>(() => cursor.Next(tokens));
        using var fresh = tokenizer.StartGeneration();
        Assert.Throws<ArgumentException>(() => fresh.Next(tokens.narrow(1, 0, 10)));
    }

    [Fact]
    public void TinyVarGeneratorOverfitsOneBatchAndTheTokenizerIsUntouched()
    {
        using var tokenizer = NewTokenizer();
        var tokenizerBefore = tokenizer.parameters().Select(p => p.detach().clone()).ToList();
        using var trainer = new GeneratorTrainer(Tiny, CPU, seed: 1, tokenizer.ScaleInputs);
        Assert.DoesNotContain(trainer.Model.parameters(), p => tokenizer.parameters().Any(t => t.Handle == p.Handle));
        var batch = OnePerClass(4);
        var reports = new List<TrainingProgress>();
        double last = trainer.Train(new GptGeneratorTests.RepeatSource(batch), new GptGeneratorTests.Collect(reports), CancellationToken.None);
        Assert.True(reports[0].Loss > 2.0, $"first loss {reports[0].Loss}");
        Assert.True(last < 0.1, $"final loss {last}");
        Assert.True(trainer.Evaluate(batch) < 0.1);
        Assert.All(tokenizer.parameters().Zip(tokenizerBefore), pair => Assert.True(GptGeneratorTests.Same(pair.First, pair.Second)));

        // What it learnt comes back out of the sampler: greedy sampling of each class reproduces its sequence.
        using var g = new Generator(2);
        var sampled = trainer.Model.Generate([0, 1, 2], new SamplingOptions(TopK: 1), g);
        var expected = tensor(batch.Tokens.Select(t => (long)t).ToArray(), new long[] { 3, 59 });
        Assert.True(GptGeneratorTests.Same(sampled, expected));
    }

    [Fact]
    public void GuidanceScaleOneEqualsConditionalSampling()
    {
        using var tokenizer = NewTokenizer();
        using var g0 = new Generator(5);
        using var model = new VarGenerator(Tiny, g0, tokenizer.ScaleInputs);
        using var g1 = new Generator(8);
        using var g2 = new Generator(8);
        var conditional = model.Generate([2, 1, 0], new SamplingOptions(TopK: 8), g1);
        var guided = model.Generate([2, 1, 0], new SamplingOptions(TopK: 8, CfgScale: 1.0), g2);
        Assert.True(GptGeneratorTests.Same(conditional, guided));
    }

    [Fact]
    public void CheckpointRoundTripsAndNeedsTheTokenizer()
    {
        using var tokenizer = NewTokenizer();
        using var original = new GeneratorTrainer(Tiny with { Steps = 5 }, CPU, seed: 2, tokenizer.ScaleInputs);
        original.Train(new GptGeneratorTests.RepeatSource(OnePerClass(1)), null, CancellationToken.None);
        using var buffer = new MemoryStream();
        original.SaveCheckpoint(buffer, "stage: var\n");

        buffer.Position = 0;
        var missing = Assert.Throws<ArgumentException>(() => GeneratorTrainer.LoadCheckpoint(buffer, CPU));
        Assert.Contains("msvq", missing.Message);

        buffer.Position = 0;
        using var restored = GeneratorTrainer.LoadCheckpoint(buffer, CPU, tokenizer.ScaleInputs);
        Assert.IsType<VarGenerator>(restored.Model);
        Assert.Equal(5, restored.Step);
        using var g1 = new Generator(4);
        using var g2 = new Generator(4);
        var options = new SamplingOptions(CfgScale: 2.0);
        Assert.True(GptGeneratorTests.Same(original.Model.Generate([0, 1], options, g1), restored.Model.Generate([0, 1], options, g2)));
    }

    [Fact]
    public void MismatchedScalesAreRefused()
    {
        using var tokenizer = NewTokenizer();
        using var g = new Generator(1);
        var wrong = Tiny with { Scales = [1, 2, 3, 7], SequenceLength = 63 };
        var error = Assert.Throws<ArgumentException>(() => new VarGenerator(wrong, g, tokenizer.ScaleInputs));
        Assert.Contains("1,3,7", error.Message);
    }
}
