using System.Globalization;
using Tessera.Infra.Data;
using Tessera.Infra.Specs;
using Tessera.Stages;
using Tessera.Trainers.Generators;

namespace Tessera.Stages.Tests;

/// <summary>
/// Each stage setting is declared once (StageSchemas) and bound by that declaration (SettingBinder): every value the
/// spec validation accepts must bind into the trainer's config and pass the config's own checks, or a spec that
/// `tessera validate` calls good would fail only when its stage starts (as `grad_clip: 0` once did).
/// </summary>
public class SettingDeclarationTests
{
    static readonly string[] ConfigKinds = ["tokenizer", "generator", "classifier", "cca", "ddo", "dpo", "rl"];

    public static TheoryData<string, string, string> AcceptedExtremes()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string kind in ConfigKinds)
            foreach (SettingSchema setting in StageSchemas.Kinds[kind].Where(s => s.Property is not null))
                foreach (string value in Extremes(setting))
                    data.Add(kind, setting.Key, value);
        return data;
    }

    /// <summary>The bounds themselves (a large value where there is none above), and every choice of a text setting.</summary>
    static IEnumerable<string> Extremes(SettingSchema setting) => setting.Type switch
    {
        SettingType.Text => setting.Choices ?? [],
        _ => new[] { setting.Min, double.IsPositiveInfinity(setting.Max) ? 100_000 : setting.Max }
            .Where(double.IsFinite)
            .Select(v => setting.Type == SettingType.Integer ? ((long)Math.Ceiling(v)).ToString(CultureInfo.InvariantCulture) : v.ToString("R", CultureInfo.InvariantCulture)),
    };

    [Theory]
    [MemberData(nameof(AcceptedExtremes))]
    public void EveryAcceptedValueBindsAndPassesTheConfigsChecks(string kind, string key, string value)
    {
        StageSpec stage;
        try { stage = Spec(kind, $"    {key}: {value}\n"); }
        catch (SpecException) { return; } // refused by validation (a rule across settings, or the digits' shape): nothing to bind
        object config = ValidateBound(stage);
        // The value reached the property its declaration names.
        string property = StageSchemas.Kinds[kind].Single(s => s.Key == key).Property!;
        object? bound = config.GetType().GetProperty(property)!.GetValue(config);
        if (bound is string text) Assert.Equal(value, text);
        else Assert.Equal(double.Parse(value, CultureInfo.InvariantCulture), Convert.ToDouble(bound, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void TheExtremesActuallyReachTheConfigs()
    {
        // Not vacuous: the theory above feeds hundreds of values, most of them accepted and bound.
        int cases = AcceptedExtremes().Count(), accepted = 0;
        foreach (var row in AcceptedExtremes())
        {
            try { _ = Spec((string)row[0], $"    {row[1]}: {row[2]}\n"); accepted++; }
            catch (SpecException) { }
        }
        Assert.True(cases > 100, $"only {cases} cases");
        Assert.True(accepted > cases * 9 / 10, $"{accepted} of {cases} values accepted");
    }

    [Fact]
    public void GradClipZeroMeansOffAndBinds()
    {
        StageSpec stage = Spec("generator", "    grad_clip: 0\n");
        GeneratorConfig config = GeneratorStage.FromStage(stage);
        Assert.Equal(0.0, config.GradClip);
        ValidateBound(stage);
    }

    [Fact]
    public void ABindingThatNamesNoPropertyIsRefusedNamingIt()
    {
        var stage = new StageSpec("g", "generator", new Dictionary<string, object> { ["model_dim"] = 64 });
        var error = Assert.Throws<InvalidOperationException>(() => SettingBinder.Bind(stage, new SamplingOptions()));
        Assert.Contains("'model_dim'", error.Message);
        Assert.Contains("SamplingOptions.ModelDim", error.Message);
    }

    static StageSpec Spec(string kind, string extra)
    {
        string yaml = "experiment: d\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n" +
            (kind == "tokenizer" ? extra : "  - kind: generator\n" + (kind == "generator" ? extra : "") +
             "  - kind: classifier\n" + (kind == "classifier" ? extra : "") +
             (kind is "cca" or "ddo" or "dpo" or "rl" ? $"  - kind: {kind}\n{extra}" : ""));
        var spec = SpecParser.Parse(yaml, "d.yaml");
        SpecShapeCheck.Check(spec, StageMappingTests.Digits, yaml, "d.yaml"); // as `tessera validate` checks it against the digits
        return spec.Stages.Single(s => s.Kind == kind);
    }

    /// <summary>Binds the stage as its runner does, with the shapes the data would give, and runs the config's checks.</summary>
    static object ValidateBound(StageSpec stage)
    {
        var digits = new DatasetManifest("mnist", Enumerable.Range(0, 10).Select(i => $"{i}").ToList(), 1, 28, 28, [], []);
        switch (stage.Kind)
        {
            case "tokenizer":
                var tokenizer = TokenizerStage.FromStage(stage, digits);
                tokenizer.Validate();
                return tokenizer;
            case "generator":
                var generator = GeneratorStage.FromStage(stage);
                (generator with { SequenceLength = generator.Model == GeneratorConfig.ModelVar ? 104 : 49, CodebookSize = 256, Classes = 10, InputDim = 8 }).Validate();
                return generator;
            case "classifier":
                var classifier = ClassifierStage.FromStage(stage, digits);
                classifier.Validate();
                return classifier;
            default:
                var aligned = AlignmentStage.FromStage(stage);
                aligned.Validate();
                return aligned;
        }
    }
}
