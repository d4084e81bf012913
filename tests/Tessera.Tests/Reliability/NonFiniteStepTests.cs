using Tessera.Collective;
using Tessera.Stages;
using Tessera.Tests.Generators;
using Tessera.Tests.Trainers;
using Tessera.Trainers;
using Tessera.Trainers.Distributed;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Reliability;

/// <summary>
/// A NaN injected into one step's loss (as an overflow would put it there) is caught before the optimizer step in
/// every trainer: skip mode drops exactly that step and ends with finite weights; stop mode fails naming the step,
/// the loss and the first parameter with a non-finite gradient; no checkpoint is written from non-finite weights.
/// </summary>
[Collection(TorchCollection.Name)]
public class NonFiniteStepTests
{
    const int FaultStep = 3;

    public NonFiniteStepTests() => TorchRuntime.Initialize(2);

    /// <summary>The loss times NaN at <see cref="FaultStep"/>: NaN loss, NaN in every gradient it reaches.</summary>
    static Tensor NaNAt(int step, Tensor loss) => step == FaultStep ? loss * double.NaN : loss;

    static readonly GeneratorConfig Gpt = GptGeneratorTests.Tiny with { Steps = 6, LogEvery = 1 };

    static bool AllFinite(nn.Module model) =>
        model.parameters().All(p => p.isfinite().all().item<bool>())
        && model.named_buffers().All(b => !b.buffer.is_floating_point() || b.buffer.isfinite().all().item<bool>());

    [Fact]
    public void GeneratorSkipModeDropsTheOneStepAndEndsFinite()
    {
        using var trainer = new GeneratorTrainer(Gpt with { OnNonFinite = NonFinitePolicy.Skip }, CPU, seed: 1);
        trainer.NonFinite.LossFault = NaNAt;
        var reports = new List<TrainingProgress>();
        trainer.Train(new GptGeneratorTests.RepeatSource(GptGeneratorTests.OneBatch()), new GptGeneratorTests.Collect(reports), CancellationToken.None);

        Assert.Equal(Gpt.Steps, trainer.Step);
        Assert.Equal(1, trainer.NonFinite.SkippedSteps);
        Assert.True(AllFinite(trainer.Model));
        Assert.True(double.IsFinite(trainer.LastLoss));
        Assert.Equal([0, 0, 1, 1, 1, 1], reports.Select(r => r.Metrics["skipped_steps"]));
    }

    [Fact]
    public void GeneratorSkipModeLeavesTheWeightsOfTheSkippedStepUntouched()
    {
        using var trainer = new GeneratorTrainer(Gpt with { OnNonFinite = NonFinitePolicy.Skip }, CPU, seed: 1);
        trainer.NonFinite.LossFault = NaNAt;
        var weights = new List<float[]>(); // after each step: reports come synchronously on the training thread
        trainer.Train(new GptGeneratorTests.RepeatSource(GptGeneratorTests.OneBatch()), new OnReport(_ => weights.Add(Flat(trainer.Model))),
            CancellationToken.None);
        Assert.Equal(weights[FaultStep - 2], weights[FaultStep - 1]);
        Assert.NotEqual(weights[FaultStep - 1], weights[FaultStep]); // and training goes on after it
    }

    [Fact]
    public void GeneratorStopModeNamesStepLossAndParameter()
    {
        using var trainer = new GeneratorTrainer(Gpt, CPU, seed: 1);
        trainer.NonFinite.LossFault = NaNAt;
        var error = Assert.Throws<TrainingDivergedException>(() =>
            trainer.Train(new GptGeneratorTests.RepeatSource(GptGeneratorTests.OneBatch()), null, CancellationToken.None));
        Assert.Equal(FaultStep, error.Step);
        Assert.True(double.IsNaN(error.Loss));
        Assert.NotNull(error.Parameter);
        Assert.Contains(error.Parameter!, trainer.Model.named_parameters().Select(p => p.name));
        Assert.Contains($"generator training diverged at step {FaultStep}: loss NaN, first non-finite gradient in '{error.Parameter}'", error.Message);
        Assert.Equal(FaultStep - 1, trainer.Step);
    }

    [Fact]
    public void TokenizerSkipModeRestoresTheEmaCodebook()
    {
        // The EMA codebook moves inside the forward pass, outside the optimizer: a skipped step must put it back.
        var config = new VqTokenizerConfig
        {
            ImageSize = SyntheticDigits.Side, ImageChannels = 1,
            HiddenChannels = 8, LatentChannels = 16, CodebookSize = 32, Steps = 5, BatchSize = 16, WarmupSteps = 1, LogEvery = 1,
            EvalBatchSize = 64, PreviewCount = 4, OnNonFinite = NonFinitePolicy.Skip,
        };
        using var trainer = new VqTokenizerTrainer(config, CPU, seed: 1);
        // A NaN batch would also reach the EMA codebook, which the forward pass updates outside the optimizer:
        // poison it along with the loss, and the skipped step must put it back.
        var embed = trainer.Model.named_buffers().First(b => b.name.EndsWith("embed")).buffer;
        trainer.NonFinite.LossFault = (step, loss) =>
        {
            if (step == FaultStep) using (no_grad()) embed.fill_(double.NaN);
            return NaNAt(step, loss);
        };
        var report = trainer.Train(new SyntheticDigitSource(16, seed: 2), SyntheticDigits.Batch(40, seed: 9), null, CancellationToken.None);
        Assert.Equal(5, report.Steps);
        Assert.Equal(1, trainer.NonFinite.SkippedSteps);
        Assert.True(AllFinite(trainer.Model));
        Assert.True(double.IsFinite(report.HeldOutPsnr));
    }

    [Fact]
    public void ClassifierSkipModeEndsFiniteAndStopModeFails()
    {
        var config = new DigitClassifierConfig { ImageChannels = 1, Channels = 4, FeatureDim = 16, Steps = 5, BatchSize = 16, WarmupSteps = 1, LogEvery = 1, EvalBatchSize = 100 };
        var train = SyntheticDigits.Batch(64, seed: 1);
        using (var skipping = new DigitClassifierTrainer(config with { OnNonFinite = NonFinitePolicy.Skip }, CPU, seed: 3))
        {
            skipping.NonFinite.LossFault = NaNAt;
            skipping.Train(train, null, CancellationToken.None);
            Assert.Equal(1, skipping.NonFinite.SkippedSteps);
            Assert.True(AllFinite(skipping.Model));
        }
        using var stopping = new DigitClassifierTrainer(config, CPU, seed: 3);
        stopping.NonFinite.LossFault = NaNAt;
        var error = Assert.Throws<TrainingDivergedException>(() => stopping.Train(train, null, CancellationToken.None));
        Assert.Equal(FaultStep, error.Step);
        Assert.Contains("classifier training diverged at step 3", error.Message);
    }

    [Fact]
    public void PostTrainerSkipModeEndsFinite()
    {
        using var g = new Generator(3);
        using var start = new GptGenerator(GptGeneratorTests.Tiny, g);
        var config = PostTrainingConfig.For(PostTrainingConfig.ObjectiveCca) with
        {
            Steps = 5, BatchSize = 6, LearningRate = 1e-3, WarmupSteps = 0, LogEvery = 1, OnNonFinite = NonFinitePolicy.Skip,
        };
        int[] labels = [0, 1, 2, 0, 1, 2];
        var data = new Tessera.Infra.Data.TokenBatch(labels.SelectMany(c => Enumerable.Range(0, GptGeneratorTests.Tiny.SequenceLength)
            .Select(t => (5 * c + t) % GptGeneratorTests.Tiny.CodebookSize)).ToArray(), labels, labels.Length, GptGeneratorTests.Tiny.SequenceLength);
        using var trainer = new PostTrainer(start, config, seed: 1);
        trainer.NonFinite.LossFault = NaNAt;
        var last = trainer.Train(new CcaObjective(new GptGeneratorTests.RepeatSource(data), config, g), null, CancellationToken.None);
        Assert.Equal(1, trainer.NonFinite.SkippedSteps);
        Assert.Equal(1, last.Metrics["skipped_steps"]);
        Assert.True(AllFinite(trainer.Policy));
    }

    [Fact]
    public async Task EveryRankSkipsTheStepWhenOnlyOneRankSeesTheNaN()
    {
        // Rank 0 alone gets a NaN loss, and one whose gradients are finite (a NaN constant added to it): only the
        // guard's poisoning of the averaged gradient can tell rank 1, yet both must drop the same step.
        await using var cluster = await LoopbackCluster.StartAsync(2);
        var rings = await Task.WhenAll(Enumerable.Range(0, 2).Select(r => cluster.Hub(r).JoinAsync(cluster.Group(r, "nonfinite", "s3cret"))));
        try
        {
            var config = Gpt with { BatchSize = 8, OnNonFinite = NonFinitePolicy.Skip };
            var ranks = Enumerable.Range(0, 2).Select(r => Task.Factory.StartNew(() =>
            {
                var parallel = new DataParallel(r, 2, new RingGradientReducer(rings[r], CancellationToken.None));
                var (start, count) = DataParallel.SliceOf(config.BatchSize, r, 2);
                var all = GptGeneratorTests.OneBatch();
                var slice = new Tessera.Infra.Data.TokenBatch(all.Tokens[(start * all.Length)..((start + count) * all.Length)],
                    all.Labels[start..(start + count)], count, all.Length);
                using var trainer = new GeneratorTrainer(config, CPU, seed: 1);
                if (r == 0) trainer.NonFinite.LossFault = (step, loss) => step == FaultStep ? loss + float.NaN : loss;
                trainer.Train(new GptGeneratorTests.RepeatSource(slice), null, CancellationToken.None, parallel);
                Assert.True(AllFinite(trainer.Model));
                return (trainer.NonFinite.SkippedSteps, Weights: Flat(trainer.Model));
            }, TaskCreationOptions.LongRunning)).ToArray();
            var results = await Task.WhenAll(ranks);
            Assert.Equal(1, results[0].SkippedSteps);
            Assert.Equal(1, results[1].SkippedSteps);
            Assert.Equal(results[0].Weights, results[1].Weights);
        }
        finally
        {
            foreach (var ring in rings) await ring.DisposeAsync();
        }
    }

    [Fact]
    public void TheGuardClipsExactlyAsTorchDoes()
    {
        // The guard clips from the norm it already has on the device (no second host sync); the result must be
        // torch.nn.utils.clip_grad_norm_'s, bit for bit, so moving the clip into the guard changed no run.
        float[] Clipped(bool byGuard)
        {
            using var g = new Generator(7);
            using var model = new GptGenerator(GptGeneratorTests.Tiny, g);
            var batch = GptGeneratorTests.OneBatch();
            var (classes, tokens) = TokenBatchTensors.From(batch, GptGeneratorTests.Tiny, CPU);
            var loss = model.TrainingLoss(classes, tokens) * 50; // large gradients, so the clip bites
            loss.backward();
            if (byGuard)
            {
                using var guard = new NonFiniteGuard("generator", NonFinitePolicy.Stop, model);
                guard.Complete(1, loss, sync: null, gradClip: 0.5, () => "");
            }
            else nn.utils.clip_grad_norm_(model.parameters(), 0.5);
            return model.parameters().SelectMany(p => p.grad!.data<float>().ToArray()).ToArray();
        }
        Assert.Equal(Clipped(byGuard: false), Clipped(byGuard: true));
    }

    [Fact]
    public void CheckpointIsNeverWrittenFromNonFiniteWeights()
    {
        using var trainer = new GeneratorTrainer(Gpt, CPU, seed: 1);
        var (name, parameter) = trainer.Model.named_parameters().Skip(2).First();
        using (no_grad()) parameter.view(-1)[0] = tensor(float.NaN);
        using var destination = new MemoryStream();
        var error = Assert.Throws<NonFiniteWeightsException>(() => trainer.SaveCheckpoint(destination, "spec"));
        Assert.Equal(name, error.Tensor);
        Assert.Contains($"'{name}' holds 1 non-finite value(s)", error.Message);
        Assert.Equal(0, destination.Length); // refused before a single byte
    }

    sealed class OnReport(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }

    static float[] Flat(nn.Module model) => model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
}
