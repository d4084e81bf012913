using Tessera.Infra.Data;
using Tessera.Trainers;
using Tessera.Trainers.Tokenizers;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

/// <summary>Both tokenizer kinds on 32x32 and 64x64 RGB at every downsample that fits: train, encode, decode, checkpoint.</summary>
[Collection(TorchCollection.Name)]
public class ColourTokenizerTests
{
    public ColourTokenizerTests() => TorchRuntime.Initialize(2);

    /// <summary>A tiny colour tokenizer; a non-finite step fails the test (the random NaNs once seen here were oneDNN's
    /// AVX-512 first-conv kernels, capped by Tessera.Trainers' OneDnnIsa).</summary>
    static VqTokenizerConfig Tiny(string kind, int side, int downsample) => new()
    {
        Kind = kind, ImageSize = side, ImageChannels = 3, Downsample = downsample,
        HiddenChannels = 8, LatentChannels = 16, ResidualBlocks = 1, CodebookSize = 32, CodeDim = 4,
        Steps = 12, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 1, LogEvery = 1, EvalBatchSize = 64, PreviewCount = 4,
    };

    public static TheoryData<string, int, int> Cases()
    {
        var cases = new TheoryData<string, int, int>();
        foreach (var kind in new[] { VqTokenizerConfig.KindVq, VqTokenizerConfig.KindMsVq })
        {
            cases.Add(kind, 32, 4);
            cases.Add(kind, 32, 8);
            cases.Add(kind, 64, 4);
            cases.Add(kind, 64, 8);
            cases.Add(kind, 64, 16);
        }
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainsEncodesToTheGridDecodesToTheImageAndRoundTripsThroughItsCheckpoint(string kind, int side, int downsample)
    {
        var config = Tiny(kind, side, downsample);
        var heldOut = SyntheticColour.Batch(6, side, seed: 2);
        using var trainer = new VqTokenizerTrainer(config, CPU, seed: 1);
        var log = new LossLog();
        trainer.Train(new SyntheticColour.Source(SyntheticColour.Batch(48, side, seed: 1)), heldOut, log, CancellationToken.None);
        Assert.True(log.Fell, $"loss {log}");

        // One stride-2 stage per factor of 2, the extra ones under new names.
        int stages = (int)Math.Log2(downsample);
        var names = trainer.Model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains($"encoder.down{stages}.weight", names);
        Assert.Contains($"decoder.up{stages}.weight", names);
        Assert.DoesNotContain($"encoder.down{stages + 1}.weight", names);

        int grid = side / downsample;
        var scales = trainer.Model.Scales;
        Assert.Equal(grid, scales[^1]);
        using var scope = NewDisposeScope();
        var x_BCHW = ImageTensors.ToTensor(heldOut, CPU);
        var tokens_BL = trainer.Model.Encode(x_BCHW);
        Assert.Equal(new long[] { 6, scales.Sum(s => s * s) }, tokens_BL.shape);
        var images_BCHW = trainer.Model.Decode(tokens_BL);
        Assert.Equal(new long[] { 6, 3, side, side }, images_BCHW.shape);

        using var file = new MemoryStream();
        trainer.SaveCheckpoint(file, "spec");
        file.Position = 0;
        using var loaded = TokenizerCheckpoint.Load(file, CPU);
        Assert.Equal(downsample, loaded.Config.Downsample);
        Assert.Equal(tokens_BL.data<long>().ToArray(), loaded.Encode(x_BCHW).data<long>().ToArray());
        Assert.Equal(images_BCHW.data<float>().ToArray(), loaded.Decode(tokens_BL).data<float>().ToArray());
        file.Position = 0;
        using var resumed = VqTokenizerTrainer.LoadCheckpoint(file, CPU);
        Assert.Equal((config.Steps, config.Resolved()), (resumed.Step, resumed.Config));
    }

    [Fact]
    public void ImagesOfAnotherShapeAreRefusedByName()
    {
        using var trainer = new VqTokenizerTrainer(Tiny(VqTokenizerConfig.KindVq, 32, 4), CPU, seed: 1);
        var e = Assert.Throws<ArgumentException>(() => TokenizerInference.Tokenize(trainer.Model, SyntheticColour.Batch(2, 64, seed: 1), CPU));
        Assert.Contains("images is 64x64; the tokenizer expects 32x32", e.Message);
        var gray = new ImageBatch(new byte[2 * 32 * 32], [0, 1], 2, 1, 32, 32);
        Assert.Contains("1 channels, the tokenizer expects 3", Assert.Throws<ArgumentException>(() => trainer.Evaluate(gray)).Message);
    }

    /// <summary>Format 2 predates the downsample field; every such checkpoint was built with two stride-2 stages.</summary>
    [Fact]
    public void AFormatTwoCheckpointWithoutDownsampleLoadsAsFour()
    {
        var config = MultiScaleTokenizerTests.Tiny with { Kind = VqTokenizerConfig.KindMsVq, Steps = 2 };
        using var trainer = new VqTokenizerTrainer(config, CPU, seed: 3);
        var digits = SyntheticDigits.Batch(16, seed: 4);
        trainer.Train(new SyntheticDigitSource(64, seed: 4), digits, null, CancellationToken.None);
        using var current = new MemoryStream();
        trainer.SaveCheckpoint(current, "spec");
        using var v2 = TokenizerCheckpointAndUsageTests.Rewrite(current, (name, text) => name switch
        {
            "trainer.json" => text.Replace(VqTokenizerTrainer.CheckpointFormat, VqTokenizerTrainer.CheckpointFormatV2),
            "config.json" => TokenizerCheckpointAndUsageTests.WithoutKeys(text, "downsample"),
            _ => null,
        });
        using var model = TokenizerCheckpoint.Load(v2, CPU);
        Assert.Equal(4, model.Config.Downsample);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 7 }, model.Scales);
        using var scope = NewDisposeScope();
        var x = ImageTensors.ToTensor(digits, CPU);
        Assert.Equal(trainer.Model.Encode(x).data<long>().ToArray(), model.Encode(x).data<long>().ToArray());
    }
}
