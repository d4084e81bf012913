using Tessera.Infra.Data;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

/// <summary>Generators whose sequence comes from the tokens of an 8x8 grid (32x32 RGB at downsample 4), not from a default.</summary>
[Collection(TorchCollection.Name)]
public class GeneratorTokenShapeTests
{
    public GeneratorTokenShapeTests() => TorchRuntime.Initialize(2);

    static readonly GeneratorConfig Sizes = new()
    {
        Classes = SyntheticColour.Classes, ModelDim = 32, Layers = 2, Heads = 2, MlpRatio = 2, Dropout = 0, ClassDropout = 0.1,
        Steps = 25, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 2, LogEvery = 1,
    };

    /// <summary>An untrained tokenizer of 32x32 RGB at its default downsample (4: an 8x8 grid).</summary>
    static TokenizerModel Tokenizer(string kind)
    {
        using var g = new Generator(5);
        var model = VqTokenizerTrainer.CreateModel(new VqTokenizerConfig
        {
            Kind = kind, ImageSize = 32, ImageChannels = 3, HiddenChannels = 8, LatentChannels = 16, CodebookSize = 32, CodeDim = 4,
        }, g);
        model.eval();
        return model;
    }

    static TokenBatch Tokens(TokenizerModel tokenizer, int count)
    {
        var images = SyntheticColour.Batch(count, 32, seed: 6);
        return new TokenBatch(TokenizerInference.Tokenize(tokenizer, images, CPU), images.Labels, count, tokenizer.TokenCount);
    }

    [Theory]
    [InlineData(VqTokenizerConfig.KindVq, GeneratorConfig.ModelGpt, 64)]
    [InlineData(VqTokenizerConfig.KindMsVq, GeneratorConfig.ModelVar, 1 + 4 + 9 + 16 + 36 + 64)]
    public void TrainsOnTheTokensOfAnEightByEightGridAndSamplesThatMany(string tokenizerKind, string model, int tokens)
    {
        using var tokenizer = Tokenizer(tokenizerKind);
        var config = (Sizes with { Model = model }).ForTokens(tokenizer.Scales, tokenizer.CodebookSize, tokenizer.Config.CodeDim);
        Assert.Equal(tokens, config.SequenceLength);
        using var trainer = new GeneratorTrainer(config, CPU, seed: 7, tokenizer.ScaleInputs);
        var log = new LossLog();
        trainer.Train(new InMemoryTokenSource(Tokens(tokenizer, 32), seed: 8), log, CancellationToken.None);
        Assert.True(log.Fell, $"loss {log}");

        using var scope = NewDisposeScope();
        using var random = new Generator(9);
        var sampled_BL = trainer.Model.Generate([0, 1, 2, 3], new SamplingOptions(CfgScale: 2), random);
        Assert.Equal(new long[] { 4, tokens }, sampled_BL.shape);
        Assert.Equal(new long[] { 4, 3, 32, 32 }, tokenizer.Decode(sampled_BL).shape);
    }

    [Fact]
    public void AConfigWithoutTokensOrWithOtherTokensIsRefusedClearly()
    {
        var unset = Assert.ThrowsAny<ArgumentException>(() => new GeneratorConfig().Validate());
        Assert.Contains("GeneratorConfig.ForTokens", unset.Message);

        // A GPT filled in for the 7x7 MNIST grid meets the 8x8 grid's 64-token sequences.
        using var tokenizer = Tokenizer(VqTokenizerConfig.KindVq);
        var mnist = Sizes.ForTokens([7], tokenizer.CodebookSize, tokenizer.Config.CodeDim);
        using var trainer = new GeneratorTrainer(mnist, CPU, seed: 7);
        var e = Assert.Throws<ArgumentException>(() => trainer.Train(new InMemoryTokenSource(Tokens(tokenizer, 8), seed: 8), null, CancellationToken.None));
        Assert.Contains("sequences of 64, the generator expects 49", e.Message);

        // A VAR on the old MNIST schedule against the 8x8 multi-scale tokenizer.
        using var multi = Tokenizer(VqTokenizerConfig.KindMsVq);
        var var = (Sizes with { Model = GeneratorConfig.ModelVar }).ForTokens([1, 2, 3, 4, 5, 7], multi.CodebookSize, multi.Config.CodeDim);
        Assert.Contains("do not match", Assert.Throws<ArgumentException>(() => new GeneratorTrainer(var, CPU, seed: 7, multi.ScaleInputs)).Message);
        Assert.Contains("make 130 tokens, but SequenceLength is 104",
            Assert.Throws<ArgumentException>(() => (var with { Scales = [.. multi.Scales] }).Validate()).Message);
    }
}
