using Tessera.Trainers;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

/// <summary>The reference classifier on RGB images of two sizes, and the judge's metrics on a class-imbalanced set.</summary>
[Collection(TorchCollection.Name)]
public class ColourClassifierTests
{
    public ColourClassifierTests() => TorchRuntime.Initialize(2);

    /// <summary>
    /// Small but not narrow. The NaN gradients this test once met at random steps were oneDNN's AVX-512 first-conv
    /// kernels (see Tessera.Trainers' OneDnnIsa), so a non-finite step fails it again, as it should.
    /// </summary>
    static readonly DigitClassifierConfig Tiny = new()
    {
        ImageChannels = 3, Classes = SyntheticColour.Classes, Channels = 16, FeatureDim = 16,
        Steps = 60, BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 2, LogEvery = 10, EvalBatchSize = 100,
    };

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void LearnsColourClassesAtEitherSizeAndKeepsItsFeaturesThroughACheckpoint(int side)
    {
        var train = SyntheticColour.Batch(320, side, seed: 1);
        var heldOut = SyntheticColour.Batch(80, side, seed: 2);
        using var trainer = new DigitClassifierTrainer(Tiny, CPU, seed: 3);
        double before = trainer.Accuracy(heldOut);
        trainer.Train(train, null, CancellationToken.None);
        var after = trainer.AccuracyByClass(heldOut);
        Assert.True(after.Overall > 0.8 && after.Overall > before + 0.3, $"accuracy {before:P0} -> {after.Overall:P0}");
        Assert.Equal(80, after.Counts.Sum());

        using var scope = NewDisposeScope();
        var images = ImageTensors.ToTensor(heldOut, CPU);
        var features = trainer.Features(images);
        Assert.Equal(new long[] { 80, Tiny.FeatureDim }, features.shape);
        using var file = new MemoryStream();
        trainer.SaveCheckpoint(file, "spec");
        file.Position = 0;
        using var restored = DigitClassifierTrainer.LoadCheckpoint(file, CPU);
        Assert.True(features.allclose(restored.Features(images), rtol: 0, atol: 1e-9));
    }

    [Fact]
    public void ImagesWithOtherChannelsOrBelowTheMinimumSideAreRefused()
    {
        using var trainer = new DigitClassifierTrainer(Tiny with { Steps = 1 }, CPU, seed: 3);
        Assert.Contains("1 channels; the classifier expects 3", Assert.Throws<ArgumentException>(() => trainer.Accuracy(SyntheticDigits.Batch(4, seed: 1))).Message);
        Assert.Contains("at least 4x4", Assert.Throws<ArgumentException>(() => trainer.Accuracy(SyntheticColour.Batch(2, 2, seed: 1))).Message);
    }

    [Fact]
    public void AFormatOneClassifierCheckpointAsksForRetraining()
    {
        using var trainer = new DigitClassifierTrainer(Tiny with { Steps = 1 }, CPU, seed: 3);
        using var current = new MemoryStream();
        trainer.SaveCheckpoint(current, "spec");
        using var v1 = TokenizerCheckpointAndUsageTests.Rewrite(current, (name, text) =>
            name == "trainer.json" ? text.Replace(DigitClassifierTrainer.CheckpointFormat, DigitClassifierTrainer.CheckpointFormatV1) : null);
        var e = Assert.ThrowsAny<Exception>(() => DigitClassifierTrainer.LoadCheckpoint(v1, CPU));
        Assert.Contains("retrain the classifier", e.ToString());
    }

    // ---- an imbalanced set: 8 rows of class 0, one each of classes 1 and 2, none of class 3 ----
    static readonly int[] Labels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 2];

    [Fact]
    public void ClassBalanceCountsEveryClassAndWeighsThePresentOnesAlike()
    {
        Assert.Equal(new[] { 8, 1, 1, 0 }, ClassBalance.Counts(Labels, 4));
        var weights = ClassBalance.Weights(Labels, 4);
        Assert.Equal(1.0, weights.Sum(), 12);
        Assert.Equal(1.0 / 24, weights[0], 12);
        Assert.Equal(1.0 / 3, weights[9], 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassBalance.Counts([4], 4));
    }

    [Fact]
    public void PerClassAccuracyShowsWhatTheOverallFigureHides()
    {
        // Every class-0 row right, the two rare rows wrong: 80% overall, one class in three.
        using var scope = NewDisposeScope();
        var probs_NK = nn.functional.one_hot(tensor(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }), 4).to(float64);
        var report = SampleMetrics.ClassAccuracyByClass(probs_NK, Labels);
        Assert.Equal(new[] { 8, 1, 1, 0 }, report.Counts);
        Assert.Equal(new[] { 8, 0, 0, 0 }, report.Correct);
        Assert.Equal(0.8, report.Overall, 12);
        Assert.Equal(1.0 / 3, report.Balanced, 12);
        Assert.True(double.IsNaN(report.Of(3)));
    }

    [Fact]
    public void ClassWeightsLetAConfidentImbalancedSetReachTheInceptionScoreOfItsClassCount()
    {
        using var scope = NewDisposeScope();
        var probs_NK = nn.functional.one_hot(tensor(Labels.Select(l => (long)l).ToArray()), 4).to(float64);
        double plain = SampleMetrics.InceptionScore(probs_NK);
        double balanced = SampleMetrics.InceptionScore(probs_NK, ClassBalance.Weights(Labels, 4));
        Assert.Equal(Math.Exp(-(0.8 * Math.Log(0.8) + 2 * 0.1 * Math.Log(0.1))), plain, 6); // exp(entropy of 0.8/0.1/0.1)
        Assert.Equal(3.0, balanced, 6);
    }

    [Fact]
    public void ClassWeightsMakeAnImbalancedReferenceComparableWithBalancedSamples()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(11);
        // Two classes, Gaussian features around -2 and +2 on the first axis: the reference has them 9:1, the
        // "generated" set 1:1, drawn from the very same class distributions.
        Tensor Draw(int count, double centre) => randn(new long[] { count, 4 }, generator: g, dtype: float64) + tensor(new[] { centre, 0, 0, 0 });
        var reference = cat(new[] { Draw(900, -2), Draw(100, 2) }, 0);
        int[] referenceLabels = [.. Enumerable.Repeat(0, 900), .. Enumerable.Repeat(1, 100)];
        var generated = cat(new[] { Draw(500, -2), Draw(500, 2) }, 0);

        double plain = FrechetDistance.Compute(generated, reference);
        double weighted = FrechetDistance.Compute(generated, null, reference, ClassBalance.Weights(referenceLabels, 2));
        Assert.True(weighted < plain / 10, $"class-weighted {weighted:F4}, unweighted {plain:F4}");
        Assert.Equal(plain, FrechetDistance.Compute(generated, Enumerable.Repeat(1.0, 1000).ToArray(), reference, null), 9);
    }
}
