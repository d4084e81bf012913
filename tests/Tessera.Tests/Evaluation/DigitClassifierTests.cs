using Tessera.Tests.Trainers;
using Tessera.Trainers;
using Tessera.Trainers.Evaluation;
using static TorchSharp.torch;

namespace Tessera.Tests.Evaluation;

[Collection(TorchCollection.Name)]
public class DigitClassifierTests
{
    private static readonly DigitClassifierConfig Tiny = new()
    {
        ImageChannels = 1,
        Channels = 4,
        FeatureDim = 16,
        Steps = 80,
        BatchSize = 32,
        LearningRate = 3e-3,
        WarmupSteps = 5,
        LogEvery = 10,
        EvalBatchSize = 100,
    };

    public DigitClassifierTests() => TorchRuntime.Initialize(2);

    [Fact]
    public void LearnsASyntheticShapeTask()
    {
        var train = SyntheticDigits.Batch(600, seed: 1);
        var heldOut = SyntheticDigits.Batch(200, seed: 2);
        using var trainer = new DigitClassifierTrainer(Tiny, CPU, seed: 3);
        double before = trainer.Accuracy(heldOut);
        trainer.Train(train, null, CancellationToken.None);
        double after = trainer.Accuracy(heldOut);
        Assert.True(after > 0.8 && after > before + 0.3, $"accuracy {before:P0} -> {after:P0}");

        using var images = Tessera.Trainers.Tokenizers.ImageTensors.ToTensor(heldOut, CPU);
        var features = trainer.Features(images);
        Assert.Equal(new long[] { 200, Tiny.FeatureDim }, features.shape);
        Assert.Equal(float64, features.dtype);
        var probs = trainer.Probabilities(images);
        Assert.True(probs.sum(dim: 1).allclose(ones(200, dtype: float64), atol: 1e-5));
    }

    [Fact]
    public void CheckpointRoundTripGivesTheSameFeatures()
    {
        var train = SyntheticDigits.Batch(64, seed: 1);
        using var trainer = new DigitClassifierTrainer(Tiny with { Steps = 5 }, CPU, seed: 3);
        trainer.Train(train, null, CancellationToken.None);
        using var buffer = new MemoryStream();
        trainer.SaveCheckpoint(buffer, "stage: classifier\n");
        buffer.Position = 0;
        using var restored = DigitClassifierTrainer.LoadCheckpoint(buffer, CPU);
        Assert.Equal(5, restored.Step);
        Assert.Equal("stage: classifier\n", restored.ResolvedSpec);
        using var images = Tessera.Trainers.Tokenizers.ImageTensors.ToTensor(train, CPU);
        Assert.True(trainer.Features(images).allclose(restored.Features(images), rtol: 0, atol: 1e-9));
    }
}
