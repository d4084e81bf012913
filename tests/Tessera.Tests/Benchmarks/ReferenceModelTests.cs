using Tessera.Trainers;
using Tessera.Bench.Workloads;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Benchmarks;

/// <summary>REF-GPT and REF-VQ are built as issue 10 describes them: sizes, shapes, causality, gradients.</summary>
[Collection(TorchCollection.Name)]
public class ReferenceModelTests
{
    public ReferenceModelTests() => TorchRuntime.Initialize(2);

    private static long Count(nn.Module model) => model.parameters().Sum(p => p.numel());

    [Fact]
    public void ParameterCountsAreAboutFivePointZeroAndTwoPointOneMillion()
    {
        using var gpt = new RefGpt();
        using var vq = new RefVq();
        Assert.InRange(Count(gpt), 4_950_000, 5_050_000);
        Assert.InRange(Count(vq), 2_050_000, 2_150_000);
    }

    [Fact]
    public void GptIsCausalAndScoresFortyNineOutputs()
    {
        torch.manual_seed(1);
        using var model = new RefGpt();
        model.eval();
        using var _ = no_grad();
        using var g = new Generator(2);
        var classes = tensor(new long[] { 3, 10 });                      // 10 is the null class
        var tokens = randint(0, RefGpt.Vocabulary, new long[] { 2, RefGpt.ImageTokens }, generator: g);
        var logits = model.Forward(classes, tokens);
        Assert.Equal(new long[] { 2, RefGpt.Positions, RefGpt.Vocabulary }, logits.shape);

        // Changing token 20 (position 21) may change outputs from position 21 on, never before it.
        var changed = tokens.clone();
        changed[0, 20] = (changed[0, 20] + 1) % RefGpt.Vocabulary;
        var delta = (model.Forward(classes, changed) - logits).abs().amax(new long[] { 0, 2 });
        Assert.True(delta.narrow(0, 0, 21).max().item<float>() < 1e-5, "positions up to 20 must not see token 20");
        Assert.True(delta[21].item<float>() > 1e-5, "position 21 sees token 20");

        var loss = model.Loss(classes, randint(0, RefGpt.Vocabulary, new long[] { 2, RefGpt.SequenceTokens }, generator: g));
        Assert.InRange(loss.item<float>(), 4f, 9f); // near ln(512) = 6.24 for random weights
    }

    [Fact]
    public void VqLossReachesEveryParameterThroughStraightThroughAndCodebookDirectly()
    {
        torch.manual_seed(3);
        using var model = new RefVq();
        using var g = new Generator(4);
        var loss = model.Loss(rand(new long[] { 2, 1, 28, 28 }, generator: g));
        Assert.True(float.IsFinite(loss.item<float>()));
        loss.backward();
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        Assert.True(grads["encoder.conv_in.weight"]!.abs().sum().item<float>() > 0, "straight-through carries the decoder's gradient to the encoder");
        Assert.True(grads["codebook"]!.abs().sum().item<float>() > 0, "the codebook term trains the codes");
        // Every parameter learns, including both convs of every residual block (GroupNorm must start at weight 1).
        foreach (var (name, grad) in grads)
            Assert.True(grad is not null && grad.isfinite().all().item<bool>() && grad.abs().sum().item<float>() > 0, $"{name} gets a finite, non-zero gradient");
    }
}
