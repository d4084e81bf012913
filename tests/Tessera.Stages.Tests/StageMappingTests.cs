using Tessera.Stages;
using Tessera.Infra.Specs;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Stages.Tests;

/// <summary>The spec schema is the source of stage defaults; the trainer's own defaults must say the same.</summary>
public class StageMappingTests
{
    /// <summary>The bundled digits' manifest: what the stages take the image shape from.</summary>
    internal static readonly Tessera.Infra.Data.DatasetManifest Digits =
        new("mnist", Enumerable.Range(0, 10).Select(i => $"{i}").ToList(), 1, 28, 28, [], []);

    [Fact]
    public void TokenizerSpecDefaultsEqualTrainerConfigDefaults()
    {
        ExperimentSpec spec = SpecParser.Parse("experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n", "d.yaml");
        Assert.Equal(new VqTokenizerConfig { ImageChannels = 1, ImageSize = 28 }, TokenizerStage.FromStage(spec.Stages[0], Digits));
    }

    static StageSpec Default(string kind, string extra = "") => SpecParser.Parse(
        $"experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n  - kind: {kind}\n{extra}", "d.yaml").Stages[1];

    [Fact]
    public void GeneratorSpecDefaultsEqualTrainerConfigDefaults() =>
        Assert.Equal(new GeneratorConfig(), GeneratorStage.FromStage(Default("generator")));

    [Fact]
    public void ClassifierSpecDefaultsEqualTrainerConfigDefaults()
    {
        var manifest = new Tessera.Infra.Data.DatasetManifest("mnist", Enumerable.Range(0, 10).Select(i => $"{i}").ToList(), 1, 28, 28, [], []);
        Assert.Equal(new DigitClassifierConfig { ImageChannels = 1 }, ClassifierStage.FromStage(Default("classifier"), manifest));
    }

    /// <summary>Every alignment kind's defaults are PostTrainingConfig.For(kind), so the schema and the library agree.</summary>
    [Theory]
    [InlineData("cca")]
    [InlineData("ddo")]
    [InlineData("dpo")]
    [InlineData("rl")]
    public void AlignmentSpecDefaultsEqualPostTrainingDefaults(string kind)
    {
        var stage = SpecParser.Parse($"experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n  - kind: generator\n" +
            $"  - kind: classifier\n  - kind: {kind}\n", "d.yaml").Stages[3];
        Assert.Equal(PostTrainingConfig.For(kind), AlignmentStage.FromStage(stage));
        Assert.Equal(("generator", "classifier"), (stage.String("from"), stage.String("classifier")));
        Assert.Equal(1, stage.Workers);
    }

    [Fact]
    public void EveryAlignmentSettingReachesTheConfig()
    {
        const string common = "steps: 11\n    batch_size: 12\n    lr: 0.013\n    warmup_steps: 14\n    min_lr_fraction: 0.15\n" +
            "    weight_decay: 0.016\n    grad_clip: 0.17\n    log_every: 18\n";
        var stages = SpecParser.Parse("experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n  - kind: generator\n  - kind: classifier\n" +
            $"  - kind: cca\n    {common}    beta: 0.19\n    lambda: 20\n    null_ratio: 0.21\n" +
            $"  - kind: ddo\n    {common}    beta: 0.19\n    alpha: 22\n    null_ratio: 0.27\n" +
            $"  - kind: dpo\n    {common}    beta: 0.19\n" +
            $"  - kind: rl\n    {common}    group_size: 23\n    clip_epsilon: 0.24\n    advantage_clip: 25\n    kl_coefficient: 0.26\n", "d.yaml").Stages;
        PostTrainingConfig Expected(string kind) => PostTrainingConfig.For(kind) with
        {
            Steps = 11, BatchSize = 12, LearningRate = 0.013, WarmupSteps = 14, MinLearningRateFraction = 0.15, WeightDecay = 0.016,
            GradClip = 0.17, LogEvery = 18,
        };
        Assert.Equal(Expected("cca") with { Beta = 0.19, Lambda = 20, NullRatio = 0.21 }, AlignmentStage.FromStage(stages[3]));
        Assert.Equal(Expected("ddo") with { Beta = 0.19, Alpha = 22, NullRatio = 0.27 }, AlignmentStage.FromStage(stages[4]));
        Assert.Equal(Expected("dpo") with { Beta = 0.19 }, AlignmentStage.FromStage(stages[5]));
        Assert.Equal(Expected("rl") with { GroupSize = 23, ClipEpsilon = 0.24, AdvantageClip = 25, KlCoefficient = 0.26 }, AlignmentStage.FromStage(stages[6]));
    }

    [Fact]
    public void AnAlignmentStageSplitsItsBatchEvenlyOverWorkersAndNeedsAClassifier()
    {
        const string head = "experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n  - kind: generator\n  - kind: classifier\n";
        Assert.Equal(2, SpecParser.Parse(head + "  - kind: dpo\n    workers: 2\n", "d.yaml").Stages[3].Workers);
        var workers = Assert.Throws<SpecException>(() => SpecParser.Parse(head + "  - kind: cca\n    workers: 2\n    batch_size: 63\n", "d.yaml"));
        Assert.Contains("does not split evenly over 2 workers", workers.Message);
        var judge = Assert.Throws<SpecException>(() => SpecParser.Parse(
            "experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n  - kind: generator\n  - kind: rl\n", "d.yaml"));
        Assert.Contains("needs a classifier stage before it", judge.Message);
    }

    [Fact]
    public void EveryTokenizerSettingReachesTheConfig()
    {
        ExperimentSpec spec = SpecParser.Parse("""
            experiment: d
            dataset:
              name: mnist
            stages:
              - kind: tokenizer
                steps: 11
                batch_size: 12
                lr: 0.013
                warmup_steps: 14
                min_lr_fraction: 0.15
                weight_decay: 0.016
                log_every: 17
                codebook_size: 18
                code_dim: 19
                hidden_channels: 20
                latent_channels: 21
                residual_blocks: 2
                commitment: 0.23
                ema_decay: 0.24
                dead_code_threshold: 2.5
                l1_weight: 0.26
            """, "d.yaml");
        var config = TokenizerStage.FromStage(spec.Stages[0], Digits);
        Assert.Equal(new VqTokenizerConfig
        {
            ImageChannels = 1, ImageSize = 28,
            Steps = 11, BatchSize = 12, LearningRate = 0.013, WarmupSteps = 14, MinLearningRateFraction = 0.15,
            WeightDecay = 0.016, LogEvery = 17, CodebookSize = 18, CodeDim = 19, HiddenChannels = 20, LatentChannels = 21,
            ResidualBlocks = 2, CommitmentWeight = 0.23, EmaDecay = 0.24, DeadCodeThreshold = 2.5, L1Weight = 0.26,
        }, config);
    }
}
