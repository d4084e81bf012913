using Tessera.Stages;
using Tessera.Infra.Data;
using Tessera.Tests.Generators;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

/// <summary>
/// A post-training run restored from a resumable checkpoint, its data source positioned at completed steps x batch
/// (what the alignment stage does), ends with the weights an uninterrupted run reaches: policy, reference (DDO's
/// rounds), optimizer moments and the objectives' generators all restored. A checkpoint of another run is refused.
/// </summary>
[Collection(TorchCollection.Name)]
public class PostTrainerResumeTests
{
    public PostTrainerResumeTests() => TorchRuntime.Initialize(2);

    static readonly GeneratorConfig Tiny = GptGeneratorTests.Tiny;

    static PostTrainingConfig Config(string objective) => PostTrainingConfig.For(objective) with
    {
        Steps = 6, Rounds = objective == PostTrainingConfig.ObjectiveDdo ? 2 : 1, BatchSize = 5, LearningRate = 3e-3, WarmupSteps = 2,
        Beta = 0.5, Alpha = 1, NullRatio = 0.3, LogEvery = 1,
    };

    static List<TokenShard> Shards()
    {
        var random = new Random(8);
        return Enumerable.Range(0, 2).Select(_ =>
        {
            int count = 13; // odd sizes, so batches straddle the shards
            var tokens = Enumerable.Range(0, count * Tiny.SequenceLength).Select(_ => random.Next(Tiny.CodebookSize)).ToArray();
            var labels = Enumerable.Range(0, count).Select(_ => random.Next(Tiny.Classes)).ToArray();
            return new TokenShard(new string('b', 64), [1, 1, 1, 3], Tiny.CodebookSize, tokens, labels);
        }).ToList();
    }

    static GptGenerator NewStart()
    {
        using var g = new Generator(3);
        return new GptGenerator(Tiny, g);
    }

    /// <summary>The objective the stage would build, drawing from <paramref name="stream"/> (cca's null draws, ddo's null rows and fakes).</summary>
    static IPostTrainingObjective Objective(string kind, PostTrainingConfig config, long position, Generator stream)
    {
        var source = new TokenBatchSource(Shards(), seed: 9, position: position);
        return kind == PostTrainingConfig.ObjectiveDdo
            ? new DdoObjective(source, config, new SamplingOptions(), stream)
            : new CcaObjective(source, config, stream);
    }

    [Theory]
    [InlineData(PostTrainingConfig.ObjectiveDdo)]
    [InlineData(PostTrainingConfig.ObjectiveCca)]
    public void ResumingFromEachCheckpointReachesTheUninterruptedWeights(string kind)
    {
        var config = Config(kind);
        using var start = NewStart();
        var saved = new Dictionary<int, byte[]>();
        using var stream = new Generator(21);
        using var straight = new PostTrainer(start, config, seed: 4);
        straight.Train(Objective(kind, config, 0, stream), null, CancellationToken.None, checkpoints: new PeriodicCheckpoint(4, step =>
        {
            using var buffer = new MemoryStream();
            straight.SaveResumable(buffer, [stream]);
            saved[step] = buffer.ToArray();
        }));
        // ddo: 2 rounds of 6, so step 8 lies in round 2, after the reference was replaced; never the last step.
        Assert.Equal(kind == PostTrainingConfig.ObjectiveDdo ? [4, 8] : [4], saved.Keys.Order());

        foreach (var (step, bytes) in saved)
        {
            using var resumedStream = new Generator(999); // another seed: the checkpoint must set it
            using var resumed = PostTrainer.Resume(new MemoryStream(bytes), $"at-{step}", start, config, seed: 4, [resumedStream]);
            Assert.Equal(step, resumed.CompletedSteps);
            Assert.Equal(step / config.Steps, resumed.Round);
            resumed.Train(Objective(kind, config, (long)step * config.BatchSize, resumedStream), null, CancellationToken.None);

            Assert.Equal(straight.TotalSteps, resumed.CompletedSteps);
            Assert.Equal(straight.Last!.Loss, resumed.Last!.Loss);
            foreach (var (a, b) in straight.Policy.parameters().Zip(resumed.Policy.parameters()))
                Assert.True(a.eq(b).all().item<bool>(), $"resumed from step {step}: a policy parameter differs from the uninterrupted run's");
            foreach (var (a, b) in straight.Reference.Model.parameters().Zip(resumed.Reference.Model.parameters()))
                Assert.True(a.eq(b).all().item<bool>(), $"resumed from step {step}: a reference parameter differs from the uninterrupted run's");
        }

        // Without its generator's state the same checkpoint drifts: the stream matters.
        using var fresh = new Generator(999);
        using var unseeded = PostTrainer.Resume(new MemoryStream(saved[4]), "at-4", start, config, seed: 4, []);
        unseeded.Train(Objective(kind, config, 4L * config.BatchSize, fresh), null, CancellationToken.None);
        Assert.NotEqual(straight.Last!.Loss, unseeded.Last!.Loss);
    }

    /// <summary>A ddo run trained to its end from <paramref name="start"/>: its last report and its resumable checkpoint.</summary>
    static (TrainingProgress Last, byte[] Checkpoint) FinishedDdoRun(GptGenerator start, PostTrainingConfig config, Generator stream)
    {
        using var trainer = new PostTrainer(start, config, seed: 4);
        var last = trainer.Train(Objective(PostTrainingConfig.ObjectiveDdo, config, 0, stream), null, CancellationToken.None);
        using var buffer = new MemoryStream();
        trainer.SaveResumable(buffer, [stream]);
        return (last, buffer.ToArray());
    }

    [Fact]
    public void AFinishedRunResumesWithNothingLeftAndItsLastReport()
    {
        var config = Config(PostTrainingConfig.ObjectiveDdo);
        using var start = NewStart();
        using var stream = new Generator(21);
        var (last, bytes) = FinishedDdoRun(start, config, stream);

        using var resumed = PostTrainer.Resume(new MemoryStream(bytes), "done", start, config, seed: 4, [stream]);
        var again = resumed.Train(Objective(PostTrainingConfig.ObjectiveDdo, config, 12L * config.BatchSize, stream), null, CancellationToken.None);
        Assert.Equal((12, last.Loss, last.Metrics["d_data"]), (again.Step, again.Loss, again.Metrics["d_data"]));
    }

    [Fact]
    public void ACheckpointOfAnotherRunOrWithDamagedBytesIsRefusedByNameAndLeavesTheStreamsAlone()
    {
        var config = Config(PostTrainingConfig.ObjectiveDdo);
        using var start = NewStart();
        using var stream = new Generator(21);
        var (_, bytes) = FinishedDdoRun(start, config, stream);

        using var target = new Generator(5);
        using var before = target.get_state();
        var other = Assert.Throws<CheckpointFormatException>(() =>
            PostTrainer.Resume(new MemoryStream(bytes), "ddo.resume-0.ckpt", start, config with { Steps = 7 }, seed: 4, [target]));
        Assert.Contains("ddo.resume-0.ckpt", other.Message);
        Assert.Contains("(ddo, 2, 6, 5), not (ddo, 2, 7, 5)", other.Message);

        byte[] damaged = bytes[..(bytes.Length / 2)]; // cut short, as by a full disk
        var broken = Assert.Throws<CheckpointFormatException>(() =>
            PostTrainer.Resume(new MemoryStream(damaged), "ddo.resume-1.ckpt", start, config, seed: 4, [target]));
        Assert.Contains("ddo.resume-1.ckpt", broken.Message);

        using var after = target.get_state();
        Assert.True(before.eq(after).all().item<bool>(), "a refused checkpoint changed the caller's generator");
    }
}
