using Tessera.Infra.Data;
using Tessera.Tests.Generators;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

/// <summary>Each objective, run by <see cref="PostTrainer"/> on a tiny GPT, moves the policy the way it should.</summary>
[Collection(TorchCollection.Name)]
public class PostTrainerTests
{
    private static readonly GeneratorConfig Tiny = GptGeneratorTests.Tiny;

    public PostTrainerTests() => TorchRuntime.Initialize(2);

    private static GptGenerator NewStart()
    {
        using var g = new Generator(3);
        return new GptGenerator(Tiny with { Dropout = 0.1 }, g);
    }

    /// <summary>Class c's "consistent" sequence: tokens (5c + t) mod V, so each class has its own pattern.</summary>
    private static int[] Consistent(int c) => Enumerable.Range(0, Tiny.SequenceLength).Select(t => (5 * c + t) % Tiny.CodebookSize).ToArray();

    /// <summary>Two rows per class; each row's tokens from <paramref name="pattern"/> of its class.</summary>
    private static TokenBatch Batch(Func<int, int[]> pattern)
    {
        int[] labels = [0, 1, 2, 0, 1, 2];
        return new TokenBatch(labels.SelectMany(pattern).ToArray(), labels, labels.Length, Tiny.SequenceLength);
    }

    private static PostTrainingConfig Config(string objective) => PostTrainingConfig.For(objective) with
    {
        Steps = 30, BatchSize = 6, LearningRate = 1e-3, WarmupSteps = 0, LogEvery = 10,
    };

    private static List<double> Parameters(TokenGenerator model) => model.parameters().Select(p => p.sum().item<float>() * 1.0).ToList();

    [Fact]
    public void DpoOnAToyPreferenceRaisesTheChosenMargin()
    {
        // Chosen: the class's own pattern; rejected: the next class's pattern, under the same class.
        var pairs = new PreferencePairs(Batch(Consistent), Batch(c => Consistent((c + 1) % Tiny.Classes)));
        var objective = new DpoObjective(new RepeatPairs(pairs), beta: 0.1);
        using var start = NewStart();
        var startWeights = Parameters(start);
        using var trainer = new PostTrainer(start, Config(PostTrainingConfig.ObjectiveDpo) with { LearningRate = 3e-3 }, seed: 1);

        // Policy and reference start equal: every reward 0, loss ln 2.
        var before = objective.NextLoss(trainer.Policy, trainer.Reference, 6);
        Assert.Equal(0, before.Metrics["reward_margin"], 6);
        Assert.Equal(Math.Log(2), before.Loss.item<float>(), 5);

        var reports = new List<TrainingProgress>();
        var last = trainer.Train(objective, new GptGeneratorTests.Collect(reports), CancellationToken.None);
        Assert.Equal(3, reports.Count);
        Assert.Equal("dpo", last.Stage);
        Assert.True(reports[^1].Metrics["reward_margin"] > reports[0].Metrics["reward_margin"], "the margin should keep rising");

        var after = objective.NextLoss(trainer.Policy, trainer.Reference, 6);
        Assert.True(after.Metrics["reward_margin"] > 1, $"margin {after.Metrics["reward_margin"]}");
        Assert.Equal(1.0, after.Metrics["reward_accuracy"]);
        Assert.True(after.Loss.item<float>() < 0.3, $"loss {after.Loss.item<float>()}");
        Assert.Equal(startWeights, Parameters(start)); // the start model is only copied
        Assert.Equal(0.0, trainer.Policy.Config.Dropout); // "model dropout off"
    }

    [Fact]
    public void CcaSeparatesEachImagesClassFromTheShiftedOne()
    {
        var rng = new Random(4);
        var sequences = Enumerable.Range(0, Tiny.Classes)
            .Select(_ => Enumerable.Range(0, Tiny.SequenceLength).Select(_ => rng.Next(Tiny.CodebookSize)).ToArray()).ToArray();
        var source = new GptGeneratorTests.RepeatSource(Batch(c => sequences[c]));
        var config = Config(PostTrainingConfig.ObjectiveCca) with { Beta = 0.5, Lambda = 1 };
        using var start = NewStart();
        using var trainer = new PostTrainer(start, config, seed: 1);
        using var g = new Generator(5);
        trainer.Train(new CcaObjective(source, config, g), null, CancellationToken.None);

        // Without null draws every shifted class differs here: each pair is a true negative.
        var check = new CcaObjective(source, config with { NullRatio = 0 }, g).NextLoss(trainer.Policy, trainer.Reference, 6);
        Assert.True(check.Metrics["reward_margin"] > 2, $"margin {check.Metrics["reward_margin"]}");
        Assert.Equal(1.0, check.Metrics["reward_accuracy"]);
    }

    [Fact]
    public void DdoTellsDataFromReferenceSamplesAndSelfPlayResetsTheReference()
    {
        var source = new GptGeneratorTests.RepeatSource(Batch(Consistent));
        var config = Config(PostTrainingConfig.ObjectiveDdo) with { Beta = 0.5, Alpha = 10, Rounds = 2, LogEvery = 1 };
        using var start = NewStart();
        using var trainer = new PostTrainer(start, config, seed: 1);
        using var g = new Generator(6);
        var objective = new DdoObjective(source, config, new SamplingOptions(), g);
        var reports = new List<TrainingProgress>();
        trainer.Train(objective, new GptGeneratorTests.Collect(reports), CancellationToken.None);

        // Steps count over both rounds, each report names its round.
        Assert.Equal(Enumerable.Range(1, 60), reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.Equal(60, r.TotalSteps));
        Assert.Equal([1.0, 1.0, 2.0, 2.0], new[] { 1, 30, 31, 60 }.Select(step => reports[step - 1].Metrics["round"]));
        Assert.Equal((1, 30, 60), (trainer.Round, trainer.Step, trainer.CompletedSteps));

        // The end of round 1 tells data from the reference's samples...
        var endOfRound1 = reports[29].Metrics;
        Assert.True(endOfRound1["d_data"] > 0.5 && endOfRound1["d_fake"] < 0, $"d_data {endOfRound1["d_data"]}, d_fake {endOfRound1["d_fake"]}");
        // ...then the trained policy became the reference: round 2's first step (scored before its update) sees d = 0
        // everywhere, and its learning rate starts the schedule again.
        var startOfRound2 = reports[30].Metrics;
        Assert.Equal(0, startOfRound2["d_data"], 5);
        Assert.Equal(0, startOfRound2["d_fake"], 5);
        Assert.Equal(reports[0].Metrics["learning_rate"], startOfRound2["learning_rate"]);

        // After the last round there is none to start.
        var noMore = Assert.Throws<InvalidOperationException>(trainer.ResetReference);
        Assert.Contains("round 2 is the last of 2", noMore.Message);
    }

    [Fact]
    public void DdoTakesItsNullShareUnderTheNullClassForDataAndFakesAlike()
    {
        using var classes_N = tensor(Enumerable.Range(0, 20_000).Select(i => (long)(i % Tiny.Classes)).ToArray());
        using var g = new Generator(8);
        using var none = DdoObjective.WithNullRows(classes_N, Tiny.Classes, 0, g);
        Assert.True(none.eq(classes_N).all().item<bool>(), "null_ratio 0 keeps every class");
        using var some = DdoObjective.WithNullRows(classes_N, Tiny.Classes, 0.3, g);
        using var isNull = some.eq(Tiny.Classes);
        double fraction = isNull.to(float64).mean().item<double>();
        Assert.InRange(fraction, 0.28, 0.32);
        using var kept = some.masked_select(isNull.logical_not());
        using var keptSource = classes_N.masked_select(isNull.logical_not());
        Assert.True(kept.eq(keptSource).all().item<bool>(), "rows not drawn keep their class");

        // Every row null: the real sequences are scored, and the fakes sampled, unconditionally.
        var source = new GptGeneratorTests.RepeatSource(Batch(Consistent));
        var config = Config(PostTrainingConfig.ObjectiveDdo) with { NullRatio = 1 };
        using var start = NewStart();
        using var trainer = new PostTrainer(start, config, seed: 1);
        var result = new DdoObjective(source, config, new SamplingOptions(), g).NextLoss(trainer.Policy, trainer.Reference, 6);
        Assert.Equal(1.0, result.Metrics["null_fraction"]);
        Assert.Equal(0, result.Metrics["d_fake"], 5); // policy = reference at the start
    }

    [Fact]
    public void RlRaisesTheMeanReward()
    {
        // Reward: the fraction of a sequence's tokens equal to 5c, its class's token. An untrained model hits it
        // about 1 time in 16.
        static Tensor Reward(Tensor classes_R, Tensor tokens_RL) => tokens_RL.eq((classes_R * 5).unsqueeze(1)).to(float64).mean(new long[] { 1 });
        var config = Config(PostTrainingConfig.ObjectiveRl) with { GroupSize = 4, BatchSize = 3, Steps = 60, LearningRate = 1e-2, LogEvery = 1 };
        using var start = NewStart();
        using var trainer = new PostTrainer(start, config, seed: 1);
        using var g = new Generator(7);
        var reports = new List<TrainingProgress>();
        trainer.Train(new GrpoObjective(Reward, config, new SamplingOptions(), g), new GptGeneratorTests.Collect(reports), CancellationToken.None);

        double first = reports.Take(5).Average(r => r.Metrics["reward"]);
        double last = reports.TakeLast(5).Average(r => r.Metrics["reward"]);
        Assert.True(first < 0.2, $"first rewards {first}");
        Assert.True(last > first + 0.15, $"reward went from {first} to {last}");
        Assert.True(reports[^1].Metrics["kl"] > 0, "the KL to the reference is reported even with the KL term off");
    }

    [Fact]
    public void CancellationStopsBeforeAStepAndBadConfigsAreRefusedByName()
    {
        using var start = NewStart();
        using var trainer = new PostTrainer(start, Config(PostTrainingConfig.ObjectiveCca), seed: 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        using var g = new Generator(1);
        var objective = new CcaObjective(new GptGeneratorTests.RepeatSource(Batch(Consistent)), trainer.Config, g);
        Assert.Throws<OperationCanceledException>(() => trainer.Train(objective, null, cts.Token));
        Assert.Equal(0, trainer.Step);

        Assert.Contains("'ppo'", Assert.Throws<ArgumentException>(() => PostTrainingConfig.For("ppo")).Message);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new PostTrainer(start, Config("rl") with { GroupSize = 1 }, seed: 1));
        Assert.Contains(nameof(PostTrainingConfig.GroupSize), error.Message);
    }

    private sealed class RepeatPairs(PreferencePairs pairs) : IPreferenceSource
    {
        public PreferencePairs Next(int batchSize) => pairs;
    }
}
