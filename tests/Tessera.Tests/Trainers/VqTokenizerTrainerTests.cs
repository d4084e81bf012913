using Tessera.Trainers;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

[Collection(TorchCollection.Name)]
public class VqTokenizerTrainerTests
{
    /// <summary>The multi-scale tests' tiny sizes, trained longer: a run still takes well under a second or two on a 2-core CPU.</summary>
    private static readonly VqTokenizerConfig Tiny = MultiScaleTokenizerTests.Tiny with
    {
        Kind = VqTokenizerConfig.KindVq,
        CodeDim = 8,
        Steps = 60,
        WarmupSteps = 5,
        PreviewCount = 8,
    };

    private static readonly Tessera.Infra.Data.ImageBatch HeldOut = SyntheticDigits.Batch(100, seed: 999);

    public VqTokenizerTrainerTests() => TorchRuntime.Initialize(2);

    private sealed class Collect : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = new();
        public void Report(TrainingProgress value) => Reports.Add(value);
    }

    [Fact]
    public void TinyConfigLossDecreases()
    {
        using var trainer = new VqTokenizerTrainer(Tiny, CPU, seed: 1);
        var progress = new Collect();
        var report = trainer.Train(new SyntheticDigitSource(512, seed: 3), HeldOut, progress, CancellationToken.None);

        var losses = progress.Reports.Select(r => r.Loss).ToArray();
        Assert.Equal(Tiny.Steps, losses.Length);
        double first = losses.Take(5).Average(), last = losses.TakeLast(5).Average();
        Assert.True(last < first * 0.7, $"loss went from {first} to {last}");
        Assert.Equal(Tiny.Steps, report.Steps);
        Assert.True(report.HeldOutPsnr > 10, $"PSNR {report.HeldOutPsnr}");
        Assert.InRange(report.CodebookUsage, 0, 1);
        Assert.InRange(report.Perplexity, 1, Tiny.CodebookSize);
        Assert.Equal(Tiny.PreviewCount, report.Originals.Count);
        Assert.Equal(Tiny.PreviewCount, report.Reconstructions.Count);
        Assert.Equal(report.Originals.Labels, report.Reconstructions.Labels);
    }

    [Fact]
    public void SameSeedTwiceGivesIdenticalLossAndMetrics()
    {
        var config = Tiny with { Steps = 20 };
        TokenizerReport Run(out double[] losses)
        {
            using var trainer = new VqTokenizerTrainer(config, CPU, seed: 42);
            var progress = new Collect();
            var report = trainer.Train(new SyntheticDigitSource(256, seed: 5), HeldOut, progress, CancellationToken.None);
            losses = progress.Reports.Select(r => r.Loss).ToArray();
            return report;
        }
        var a = Run(out var lossesA);
        var b = Run(out var lossesB);
        Assert.Equal(lossesA, lossesB);
        Assert.Equal(a.HeldOutPsnr, b.HeldOutPsnr);
        Assert.Equal(a.CodebookUsage, b.CodebookUsage);
        Assert.Equal(a.Perplexity, b.Perplexity);
        Assert.Equal(a.FinalLoss, b.FinalLoss);
        Assert.Equal(a.Reconstructions.Pixels, b.Reconstructions.Pixels);

        using var other = new VqTokenizerTrainer(config, CPU, seed: 43);
        var c = other.Train(new SyntheticDigitSource(256, seed: 5), HeldOut, null, CancellationToken.None);
        Assert.NotEqual(a.FinalLoss, c.FinalLoss);
    }

    [Fact]
    public void CheckpointRoundTripRestoresModelOptimizerAndStep()
    {
        var config = Tiny with { Steps = 15 };
        using var uninterrupted = new VqTokenizerTrainer(config, CPU, seed: 7);
        var expected = uninterrupted.Train(new SyntheticDigitSource(256, seed: 8), HeldOut, null, CancellationToken.None);

        // Same run, stopped after step 10 and checkpointed.
        using var interrupted = new VqTokenizerTrainer(config, CPU, seed: 7);
        using var cts = new CancellationTokenSource();
        var stopAtTen = new SyncProgress(p => { if (p.Step == 10) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            interrupted.Train(new SyntheticDigitSource(256, seed: 8), HeldOut, stopAtTen, cts.Token));
        Assert.Equal(10, interrupted.Step);
        var before = interrupted.Evaluate(HeldOut);
        using var file = new MemoryStream();
        interrupted.SaveCheckpoint(file, "stage: tokenizer\nsteps: 15\n");

        file.Position = 0;
        using var restored = VqTokenizerTrainer.LoadCheckpoint(file, CPU);
        Assert.Equal(10, restored.Step);
        Assert.Equal(7, restored.Seed);
        Assert.Equal(config.Resolved(), restored.Config); // the checkpoint records the downsample and schedule used
        Assert.Equal("stage: tokenizer\nsteps: 15\n", restored.ResolvedSpec);
        Assert.Equal(interrupted.LastLoss, restored.LastLoss);

        // Same reconstructions and the same tokens after reload.
        var after = restored.Evaluate(HeldOut);
        Assert.Equal(before.Reconstructions.Pixels, after.Reconstructions.Pixels);
        Assert.Equal(before.Psnr, after.Psnr);
        Assert.Equal(before.Perplexity, after.Perplexity);
        using (var scope = NewDisposeScope())
        {
            var images = ImageTensors.ToTensor(HeldOut, CPU);
            Assert.Equal(interrupted.Model.Encode(images).data<long>().ToArray(), restored.Model.Encode(images).data<long>().ToArray());
        }

        // Resuming on the batches the interrupted run never saw lands exactly where the uninterrupted run did:
        // optimizer moments, EMA codebook buffers and the restart generator all came back.
        var source = new SyntheticDigitSource(256, seed: 8);
        for (int i = 0; i < 10; i++) source.Next(config.BatchSize);
        var resumed = restored.Train(source, HeldOut, null, CancellationToken.None);
        Assert.Equal(15, resumed.Steps);
        Assert.Equal(expected.FinalLoss, resumed.FinalLoss);
        Assert.Equal(expected.HeldOutPsnr, resumed.HeldOutPsnr);
        Assert.Equal(expected.Reconstructions.Pixels, resumed.Reconstructions.Pixels);
    }

    [Fact]
    public void NonFiniteLossStopsWithClearErrorNamingTheStep()
    {
        // A learning rate of 1e30 sends every weight to about +-1e30 after one AdamW step: step 2's loss overflows.
        var config = Tiny with { Steps = 10, LearningRate = 1e30, WarmupSteps = 0 };
        using var trainer = new VqTokenizerTrainer(config, CPU, seed: 1);
        var error = Assert.Throws<TrainingDivergedException>(() =>
            trainer.Train(new SyntheticDigitSource(64, seed: 2), HeldOut, null, CancellationToken.None));
        Assert.Equal(2, error.Step);
        Assert.False(double.IsFinite(error.Loss));
        Assert.Contains("step 2", error.Message);
        Assert.Contains("tokenizer", error.Message);
    }

    [Fact]
    public void CancellationStopsTraining()
    {
        using var cts = new CancellationTokenSource();
        using var trainer = new VqTokenizerTrainer(Tiny, CPU, seed: 1);
        var progress = new SyncProgress(p => { if (p.Step == 3) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            trainer.Train(new SyntheticDigitSource(64, seed: 2), HeldOut, progress, cts.Token));
        Assert.Equal(3, trainer.Step);
    }

    [Fact]
    public void ProgressComesEveryLogEveryStepsAndOnTheLastStep()
    {
        var config = Tiny with { Steps = 25, LogEvery = 10 };
        using var trainer = new VqTokenizerTrainer(config, CPU, seed: 1);
        var progress = new Collect();
        trainer.Train(new SyntheticDigitSource(64, seed: 2), HeldOut, progress, CancellationToken.None);
        Assert.Equal(new[] { 10, 20, 25 }, progress.Reports.Select(r => r.Step));
        Assert.All(progress.Reports, r =>
        {
            Assert.Equal(VqTokenizerTrainer.Stage, r.Stage);
            Assert.Equal(25, r.TotalSteps);
            Assert.True(r.ImagesPerSecond > 0);
            Assert.Contains("learning_rate", r.Metrics.Keys);
            Assert.Contains("recon_mse", r.Metrics.Keys);
        });
    }

    [Fact]
    public void EncodeGivesFortyNineTokensAndDecodeGivesImagesInUnitRange()
    {
        using var trainer = new VqTokenizerTrainer(Tiny, CPU, seed: 1);
        using var scope = NewDisposeScope();
        var images = ImageTensors.ToTensor(SyntheticDigits.Batch(5, seed: 1), CPU);
        var codes = trainer.Model.Encode(images);
        Assert.Equal(new long[] { 5, 49 }, codes.shape);
        Assert.Equal(ScalarType.Int64, codes.dtype);
        Assert.True(codes.min().item<long>() >= 0 && codes.max().item<long>() < Tiny.CodebookSize);
        var decoded = trainer.Model.Decode(codes);
        Assert.Equal(new long[] { 5, 1, 28, 28 }, decoded.shape);
        Assert.True(decoded.min().item<float>() >= 0 && decoded.max().item<float>() <= 1);
    }

    [Fact]
    public void LearningRateWarmsUpThenDecaysToTheFloor()
    {
        var config = Tiny with { Steps = 100, WarmupSteps = 10, LearningRate = 1e-3, MinLearningRateFraction = 0.1 };
        using var trainer = new VqTokenizerTrainer(config, CPU, seed: 1);
        Assert.Equal(1e-4, trainer.LearningRateAt(0), 12);
        Assert.Equal(1e-3, trainer.LearningRateAt(9), 12);
        Assert.Equal(1e-3, trainer.LearningRateAt(10), 12);
        Assert.Equal(0.55e-3, trainer.LearningRateAt(55), 12);
        Assert.Equal(1e-4, trainer.LearningRateAt(100), 12);
    }

    private sealed class SyncProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }
}
