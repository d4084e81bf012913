using Tessera.Tests.Generators;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

[Collection(TorchCollection.Name)]
public class FrozenReferenceTests
{
    public FrozenReferenceTests() => TorchRuntime.Initialize(2);

    [Fact]
    public void TrainingTheSourceLeavesTheReferenceUnchangedAndWithoutGradients()
    {
        using var g = new Generator(3);
        using var source = new GptGenerator(GptGeneratorTests.Tiny with { Dropout = 0.3 }, g);
        source.train();
        using var reference = new FrozenReference(source);
        var classes_B = tensor(new long[] { 0, 1, 2 });
        var tokens_BL = randint(0, GptGeneratorTests.Tiny.CodebookSize, new long[] { 3, GptGeneratorTests.Tiny.SequenceLength }, generator: g);
        var before_BL = reference.TokenLogProbs(classes_B, tokens_BL);

        // Dropout off: the source trains with dropout 0.3, yet the reference gives one answer, not a draw.
        Assert.False(reference.Model.training);
        Assert.True(source.training, "copying must not change the source's mode");
        Assert.True(GptGeneratorTests.Same(before_BL, reference.TokenLogProbs(classes_B, tokens_BL)));
        Assert.False(before_BL.requires_grad);
        Assert.All(reference.Model.parameters(), p => Assert.False(p.requires_grad));

        // Ten AdamW steps on the source, with the reference's log-probabilities inside the loss (as every objective has them).
        using var optimizer = optim.AdamW(source.parameters(), lr: 1e-2);
        for (int step = 0; step < 10; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = (reference.SequenceLogProbs(classes_B, tokens_BL) - source.SequenceLogProbs(classes_B, tokens_BL)).mean();
            loss.backward();
            optimizer.step();
        }

        Assert.True(GptGeneratorTests.Same(before_BL, reference.TokenLogProbs(classes_B, tokens_BL)));
        Assert.All(reference.Model.parameters(), p => Assert.True(p.grad is null, "the reference must hold no gradient"));
        source.eval();
        using var _ = no_grad();
        var after_BL = source.TokenLogProbs(classes_B, tokens_BL);
        Assert.True(after_BL.sum().item<float>() > before_BL.sum().item<float>() + 1, "the source should have learnt the tokens");
    }
}
