using Tessera.Stages;
using Tessera.Infra.Specs;
using Tessera.Trainers;

namespace Tessera.Tests.Reliability;

/// <summary>`on_nonfinite` is a setting of every training stage and reaches each trainer's config.</summary>
public class OnNonFiniteSettingTests
{
    static StageSpec Stage(string kind, string value) => SpecParser.Parse(
        $"experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n    name: first\n  - kind: {kind}\n    on_nonfinite: {value}\n", "d.yaml").Stages[1];

    [Fact]
    public void SkipReachesEveryTrainingStagesConfig()
    {
        var manifest = new Tessera.Infra.Data.DatasetManifest("mnist", Enumerable.Range(0, 10).Select(i => $"{i}").ToList(), 1, 28, 28, [], []);
        Assert.Equal(NonFinitePolicy.Skip, TokenizerStage.FromStage(Stage("tokenizer", "skip"), manifest).OnNonFinite);
        Assert.Equal(NonFinitePolicy.Skip, GeneratorStage.FromStage(Stage("generator", "skip")).OnNonFinite);
        Assert.Equal(NonFinitePolicy.Skip, ClassifierStage.FromStage(Stage("classifier", "skip"), manifest).OnNonFinite);
        Assert.Equal(NonFinitePolicy.Stop, GeneratorStage.FromStage(Stage("generator", "stop")).OnNonFinite);
    }

    [Fact]
    public void SkipReachesThePostTrainingConfig()
    {
        var spec = SpecParser.Parse("experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n  - kind: generator\n" +
            "  - kind: classifier\n  - kind: cca\n    on_nonfinite: skip\n", "d.yaml");
        Assert.Equal(NonFinitePolicy.Skip, AlignmentStage.FromStage(spec.Stages[3]).OnNonFinite);
    }

    [Fact]
    public void AnyOtherValueIsASpecError()
    {
        var error = Assert.Throws<SpecException>(() => Stage("generator", "ignore"));
        Assert.Contains("on_nonfinite", error.Message);
    }
}
