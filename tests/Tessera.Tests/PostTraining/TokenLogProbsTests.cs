using Tessera.Tests.Generators;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

/// <summary>Per-token log-probabilities of both generator kinds agree with their training loss, and copies score alike.</summary>
[Collection(TorchCollection.Name)]
public class TokenLogProbsTests
{
    public TokenLogProbsTests() => TorchRuntime.Initialize(2);

    private static (Tensor Classes_B, Tensor Tokens_BL) RandomBatch(GeneratorConfig config, int seed)
    {
        using var g = new Generator((ulong)seed);
        return (randint(0, config.Classes + 1, new long[] { 4 }, generator: g), // the null class included
            randint(0, config.CodebookSize, new long[] { 4, config.SequenceLength }, generator: g));
    }

    private static void AssertLogProbsMatchTrainingLoss(TokenGenerator model)
    {
        model.eval();
        var (classes_B, tokens_BL) = RandomBatch(model.Config, 5);
        var lp_BL = model.TokenLogProbs(classes_B, tokens_BL);
        Assert.Equal(tokens_BL.shape, lp_BL.shape);
        Assert.True(lp_BL.requires_grad, "the policy's log-probabilities must carry gradients");
        Assert.True(lp_BL.le(0).all().item<bool>(), "log-probabilities are <= 0");
        double fromLogProbs = -lp_BL.mean().item<float>();
        double loss = model.TrainingLoss(classes_B, tokens_BL).item<float>();
        Assert.Equal(loss, fromLogProbs, 5);
        Assert.True(model.SequenceLogProbs(classes_B, tokens_BL).allclose(lp_BL.sum(1), rtol: 1e-6, atol: 1e-5));
    }

    [Fact]
    public void GptLogProbsAreTheNegatedTrainingLoss()
    {
        using var g = new Generator(3);
        using var model = new GptGenerator(GptGeneratorTests.Tiny, g);
        AssertLogProbsMatchTrainingLoss(model);
    }

    [Fact]
    public void VarLogProbsAreTheNegatedTrainingLoss()
    {
        using var tokenizer = VarTrainingTests.NewTokenizer();
        using var g = new Generator(3);
        using var model = new VarGenerator(VarTrainingTests.Tiny, g, tokenizer.ScaleInputs);
        AssertLogProbsMatchTrainingLoss(model);
    }

    [Fact]
    public void CopiesScoreLikeTheSourceAndShareNoTensor()
    {
        using var tokenizer = VarTrainingTests.NewTokenizer();
        using var g1 = new Generator(3);
        using var g2 = new Generator(4);
        using var gpt = new GptGenerator(GptGeneratorTests.Tiny, g1);
        using var nextScale = new VarGenerator(VarTrainingTests.Tiny, g2, tokenizer.ScaleInputs);
        foreach (TokenGenerator source in new TokenGenerator[] { gpt, nextScale })
        {
            using var copy = source.Copy(source.Config with { Dropout = 0.2 });
            Assert.IsType(source.GetType(), copy);
            Assert.Equal(0.2, copy.Config.Dropout);
            Assert.DoesNotContain(copy.parameters(), p => source.parameters().Any(s => s.Handle == p.Handle));
            source.eval();
            copy.eval();
            using var _ = no_grad();
            var (classes_B, tokens_BL) = RandomBatch(source.Config, 8);
            Assert.True(GptGeneratorTests.Same(source.TokenLogProbs(classes_B, tokens_BL), copy.TokenLogProbs(classes_B, tokens_BL)));
        }
    }

    [Fact]
    public void ACopyCannotChangeTheModelSize()
    {
        using var g = new Generator(3);
        using var gpt = new GptGenerator(GptGeneratorTests.Tiny, g);
        var error = Assert.Throws<ArgumentException>(() => gpt.Copy(gpt.Config with { ModelDim = 64 }));
        Assert.Contains("sizes", error.Message);
    }
}
