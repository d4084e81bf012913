using Tessera.Trainers;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

[Collection(TorchCollection.Name)]
public class MultiScaleTokenizerTests
{
    /// <summary>Small enough that a few steps take well under a second on a 2-core CPU.</summary>
    internal static readonly VqTokenizerConfig Tiny = new()
    {
        ImageSize = SyntheticDigits.Side,
        ImageChannels = 1,
        HiddenChannels = 8,
        LatentChannels = 16,
        ResidualBlocks = 1,
        CodebookSize = 32,
        CodeDim = 4,
        Steps = 6,
        BatchSize = 16,
        LearningRate = 3e-3,
        WarmupSteps = 2,
        LogEvery = 1,
        EvalBatchSize = 64,
        PreviewCount = 4,
    };

    private static readonly Tessera.Infra.Data.ImageBatch HeldOut = SyntheticDigits.Batch(40, seed: 999);

    public MultiScaleTokenizerTests() => TorchRuntime.Initialize(2);

    private static VqTokenizerTrainer Trained(VqTokenizerConfig config)
    {
        var trainer = new VqTokenizerTrainer(config, CPU, seed: 3);
        trainer.Train(new SyntheticDigitSource(128, seed: 4), HeldOut, null, CancellationToken.None);
        return trainer;
    }

    [Theory]
    [InlineData("vq", "ema")]
    [InlineData("vq", "simvq")]
    [InlineData("msvq", "ema")]
    [InlineData("msvq", "simvq")]
    public void DecodeOfEncodeEqualsTheModelsOwnReconstruction(string kind, string quantizer)
    {
        using var trainer = Trained(Tiny with { Kind = kind, Quantizer = quantizer });
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = trainer.Model;
        model.eval();
        var x_BCHW = ImageTensors.ToTensor(SyntheticDigits.Batch(6, seed: 11), CPU);
        var own = model.Forward(x_BCHW, updateCodebook: false, null);
        var tokens_BL = model.Encode(x_BCHW);
        Assert.Equal(new long[] { 6, model.TokenCount }, tokens_BL.shape);
        Assert.Equal(kind == "vq" ? 49 : 104, model.TokenCount);
        Assert.Equal(own.Indices.data<long>().ToArray(), tokens_BL.data<long>().ToArray());
        var decoded = model.Decode(tokens_BL);
        Assert.Equal(own.Reconstruction.clamp(0, 1).data<float>().ToArray(), decoded.data<float>().ToArray());
    }

    [Fact]
    public void TeacherForcingInputsHaveOneRowPerLaterTokenAndStartFromTheFirstScale()
    {
        using var trainer = Trained(Tiny with { Kind = "msvq" });
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = (MsVqTokenizer)trainer.Model;
        var tokens_BL = model.Encode(ImageTensors.ToTensor(SyntheticDigits.Batch(3, seed: 12), CPU));
        var inputs_BLD = model.TeacherForcingInputs(tokens_BL);
        Assert.Equal(new long[] { 3, 103, Tiny.CodeDim }, inputs_BLD.shape);

        // By hand for scale 2's inputs: emb of the 1x1 token, upsampled to 7x7 (a constant map), phi, area down to 2x2.
        var ms = model.MultiScale;
        var emb_BD = model.Quantizer.Codes().index_select(0, tokens_BL[.., 0]);
        var h_BDhw = emb_BD[.., .., TensorIndex.None, TensorIndex.None].expand(3, Tiny.CodeDim, 7, 7);
        var conv = ms.Phi[ms.PhiIndex(0)];
        var phi_BDhw = 0.5 * h_BDhw + 0.5 * nn.functional.conv2d(h_BDhw, conv.weight!, conv.bias!, padding: new long[] { 1, 1 });
        var down_BD22 = nn.functional.adaptive_avg_pool2d(phi_BDhw, new long[] { 2, 2 });
        var expected_B4D = down_BD22.reshape(3, Tiny.CodeDim, 4).transpose(1, 2);
        Assert.True(allclose(expected_B4D, inputs_BLD[.., 0..4], rtol: 1e-5, atol: 1e-6));

        // The last scale's inputs are f_hat of every coarser scale at full latent size (no resampling).
        var fHats = ms.CumulativeFHat(tokens_BL, 7);
        var expectedLast = fHats[^2].reshape(3, Tiny.CodeDim, 49).transpose(1, 2);
        Assert.Equal(expectedLast.data<float>().ToArray(), inputs_BLD[.., ^49..].contiguous().data<float>().ToArray());
    }

    [Fact]
    public void MultiScaleLossMatchesAHandComputedValue()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(1);
        // One channel, codes {0, 1}, scales 1 and 2, phi conv zeroed so phi(h) = 0.5 h.
        var codebook = new EmaQuantizer(2, 1, 0.8, 2.0, cosine: false, generator);
        var ms = new MultiScaleQuantizer(codebook, new[] { 1, 2 }, phiConvs: 1, phiResidualRatio: 0.5, beta: 0.25);
        using (no_grad())
        {
            codebook.Embed.copy_(tensor(new float[] { 0, 1 }).reshape(2, 1));
            ms.Phi[0].weight!.zero_();
            ms.Phi[0].bias!.zero_();
        }
        var f = tensor(new float[] { 0.2f, 0.6f, 0.9f, 1.5f }).reshape(1, 1, 2, 2).requires_grad_();
        var q = ms.Forward(f, updateCodebook: false, null);
        // Scale 1: mean 0.8 -> code 1, h = 0.5, f_hat = 0.5 everywhere; 1.25 * mean((f - 0.5)^2) = 1.25 * 1.26 / 4.
        // Rest (-0.3, 0.1, 0.4, 1.0) -> codes (0, 0, 0, 1), f_hat = (0.5, 0.5, 0.5, 1.0); 1.25 * 0.51 / 4.
        double expected = (1.25 * 1.26 / 4 + 1.25 * 0.51 / 4) / 2;
        Assert.Equal(expected, q.Loss.item<float>(), 5);
        Assert.Equal(new long[] { 1, 0, 0, 0, 1 }, q.Indices.data<long>().ToArray());
        Assert.Equal(new[] { 0.5f, 0.5f, 0.5f, 1.0f }, q.FHat.detach().data<float>().ToArray());
        // Straight-through: the gradient of sum(f_hat) reaches f as ones.
        q.FHat.sum().backward();
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, f.grad!.data<float>().ToArray());
    }

    [Fact]
    public void CoarseToFineGivesOneReconstructionPerScaleEndingAtTheFullOne()
    {
        using var trainer = Trained(Tiny with { Kind = "msvq" });
        var images = SyntheticDigits.Batch(3, seed: 13);
        var rows = TokenizerInference.CoarseToFine(trainer.Model, images, CPU);
        Assert.Equal(6, rows.Count);
        using var scope = NewDisposeScope();
        var full = ImageTensors.ToImageBatch(trainer.Model.Decode(trainer.Model.Encode(ImageTensors.ToTensor(images, CPU))), images.Labels);
        Assert.Equal(full.Pixels, rows[^1].Pixels);
        Assert.NotEqual(rows[0].Pixels, rows[^1].Pixels);
    }

    [Fact]
    public void TokenizeMatchesEncodeRowByRow()
    {
        using var trainer = Trained(Tiny with { Kind = "msvq" });
        var images = SyntheticDigits.Batch(7, seed: 14);
        var tokens = TokenizerInference.Tokenize(trainer.Model, images, CPU, batchSize: 3);
        Assert.Equal(7 * 104, tokens.Length);
        using var scope = NewDisposeScope();
        var expected = trainer.Model.Encode(ImageTensors.ToTensor(images, CPU)).data<long>().ToArray().Select(t => (int)t);
        Assert.Equal(expected, tokens);
    }
}
