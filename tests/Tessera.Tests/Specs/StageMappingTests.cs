using Tessera.Grains.Workers;
using Tessera.Infra.Specs;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Tests.Specs;

/// <summary>The spec schema is the source of stage defaults; the trainer's own defaults must say the same.</summary>
public class StageMappingTests
{
    [Fact]
    public void TokenizerSpecDefaultsEqualTrainerConfigDefaults()
    {
        ExperimentSpec spec = SpecParser.Parse("experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n", "d.yaml");
        Assert.Equal(new VqTokenizerConfig(), TokenizerStage.FromStage(spec.Stages[0]));
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
        Assert.Equal(new DigitClassifierConfig(), ClassifierStage.FromStage(Default("classifier"), manifest));
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
        var config = TokenizerStage.FromStage(spec.Stages[0]);
        Assert.Equal(new VqTokenizerConfig
        {
            Steps = 11, BatchSize = 12, LearningRate = 0.013, WarmupSteps = 14, MinLearningRateFraction = 0.15,
            WeightDecay = 0.016, LogEvery = 17, CodebookSize = 18, CodeDim = 19, HiddenChannels = 20, LatentChannels = 21,
            ResidualBlocks = 2, CommitmentWeight = 0.23, EmaDecay = 0.24, DeadCodeThreshold = 2.5, L1Weight = 0.26,
        }, config);
    }
}
