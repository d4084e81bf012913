using Tessera.Infra.Specs;

namespace Tessera.Tests.Specs;

public class SpecParserTests
{
    const string Valid = """
        experiment: demo
        seed: 7
        dataset:
          name: mnist
        stages:
          - kind: tokenizer
            steps: 20
            lr: 0.001
        """;

    [Fact]
    public void ValidSpecResolvesDefaults()
    {
        ExperimentSpec spec = SpecParser.Parse(Valid, "demo.yaml");
        Assert.Equal("demo", spec.Experiment);
        Assert.Equal(7, spec.Seed);
        Assert.Equal("auto", spec.Device);
        Assert.Equal(new DatasetSpec("mnist", "builtin", 4), spec.Dataset);
        StageSpec stage = Assert.Single(spec.Stages);
        Assert.Equal(("tokenizer", "tokenizer"), (stage.Name, stage.Kind));
        Assert.Equal(20, stage.Int("steps"));
        Assert.Equal(0.001, stage.Double("lr"));
        Assert.Equal(256, stage.Int("codebook_size")); // default filled in
    }

    [Theory]
    [InlineData("icons", "builtin")]
    [InlineData("mine", "store")]
    public void BuiltinDatasetsDefaultToTheBuiltinSource(string name, string source) =>
        Assert.Equal(source, SpecParser.Parse(Valid.Replace("name: mnist", $"name: {name}"), "demo.yaml").Dataset.Source);

    [Fact]
    public void ABuiltinSourceForAnImportedDatasetIsRefusedNamingTheBuiltins()
    {
        var error = Assert.Throws<SpecException>(() =>
            SpecParser.Parse(Valid.Replace("name: mnist", "name: mine\n  source: builtin"), "bad.yaml"));
        Assert.Equal(4, error.Line);
        Assert.Contains("'mine' is not a builtin (builtins: mnist, icons)", error.Message);
    }

    [Fact]
    public void ResolvedSpecRoundTrips()
    {
        ExperimentSpec spec = SpecParser.Parse(Valid, "demo.yaml");
        ExperimentSpec again = SpecParser.Parse(SpecWriter.ToYaml(spec), "resolved.yaml");
        Assert.Equal(spec.Experiment, again.Experiment);
        Assert.Equal(spec.Dataset, again.Dataset);
        Assert.Equal(spec.Stages[0].Settings.OrderBy(k => k.Key).Select(k => (k.Key, k.Value.ToString())),
                     again.Stages[0].Settings.OrderBy(k => k.Key).Select(k => (k.Key, k.Value.ToString())));
    }

    [Theory]
    [InlineData("    lr: 0.001", "    lerning_rate: 0.1", 8, "unknown key 'lerning_rate' in stage 'tokenizer'")]
    [InlineData("    steps: 20", "    steps: -5", 7, "'steps' in stage 'tokenizer' must be at least 1, got -5")]
    [InlineData("    steps: 20", "    batch_size: lots", 7, "'batch_size' in stage 'tokenizer' must be an integer, got 'lots'")]
    [InlineData("    lr: 0.001", "    lr: .nan", 8, "'lr' in stage 'tokenizer' must be a finite number")]
    [InlineData("  - kind: tokenizer", "  - kind: painter", 6, "unknown stage kind 'painter' (known: ")]
    [InlineData("    steps: 20", "    stepz: 20", 7, "unknown key 'stepz' in stage 'tokenizer'; did you mean 'steps'? (allowed: ")]
    [InlineData("  - kind: tokenizer", "  - kind: tokeniser", 6, "unknown stage kind 'tokeniser'; did you mean 'tokenizer'?")]
    public void StageErrorsNameTheLine(string line, string replacement, int lineNumber, string problem)
    {
        Assert.Contains(line, Valid);
        var error = Assert.Throws<SpecException>(() => SpecParser.Parse(Valid.Replace(line, replacement), "bad.yaml"));
        Assert.Equal("bad.yaml", error.File);
        Assert.Equal(lineNumber, error.Line);
        Assert.Contains(problem, error.Message);
        Assert.StartsWith($"bad.yaml:{lineNumber}:", error.Message);
    }

    [Theory]
    [InlineData("bacth_size", "batch_size")]  // two letters swapped
    [InlineData("warmup_step", "warmup_steps")]
    [InlineData("LR", "lr")]
    [InlineData("painter", null)]             // nothing close: no guess
    [InlineData("x", null)]
    public void DidYouMeanSuggestsOnlyANearKey(string typed, string? expected) =>
        Assert.Equal(expected, DidYouMean.Closest(typed, ["batch_size", "warmup_steps", "lr", "steps", "tokenizer"]));

    [Fact]
    public void MissingDatasetIsRejected()
    {
        string yaml = "experiment: demo\nstages:\n  - kind: tokenizer\n";
        var error = Assert.Throws<SpecException>(() => SpecParser.Parse(yaml, "nodata.yaml"));
        Assert.Contains("missing required key 'dataset'", error.Message);
    }

    [Fact]
    public void UnknownTopLevelKeyIsRejectedWithItsLine()
    {
        var error = Assert.Throws<SpecException>(() => SpecParser.Parse("experiment: x\nepochs: 3\n", "top.yaml"));
        Assert.Equal(2, error.Line);
        Assert.Contains("unknown key 'epochs' in top level", error.Message);
    }

    [Fact]
    public void WrongTypeForSeedIsRejected()
    {
        var error = Assert.Throws<SpecException>(() => SpecParser.Parse(Valid.Replace("seed: 7", "seed: seven"), "seed.yaml"));
        Assert.Equal(2, error.Line);
        Assert.Contains("'seed' must be an integer, got 'seven'", error.Message);
    }

    [Fact]
    public void BrokenYamlIsRejectedWithItsLine()
    {
        var error = Assert.Throws<SpecException>(() => SpecParser.Parse("experiment: demo\nstages: [unclosed\n", "broken.yaml"));
        Assert.Contains("not valid YAML", error.Message);
        Assert.True(error.Line >= 2, error.Message);
    }

    [Fact]
    public void WorkersMustSplitTheBatchAndAnEmaTokenizerCannotBeShared()
    {
        var uneven = Assert.Throws<SpecException>(() => SpecParser.Parse(Valid + "\n    workers: 3\n", "w.yaml"));
        Assert.Contains("does not split evenly over 3 workers", uneven.Message);
        var ema = Assert.Throws<SpecException>(() => SpecParser.Parse(Valid + "\n    workers: 2\n", "w.yaml"));
        Assert.Contains("use quantizer: simvq or workers: 1", ema.Message);
        var fine = SpecParser.Parse(Valid + "\n    workers: 2\n    quantizer: simvq\n", "w.yaml");
        Assert.Equal(2, fine.Stages[0].Int("workers"));
    }

    [Fact]
    public void NextScaleGeneratorOverASingleScaleTokenizerIsRejectedAtItsModelLine()
    {
        const string yaml = "experiment: v\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n  - kind: tokenize\n  - kind: generator\n    model: var\n";
        var error = Assert.Throws<SpecException>(() => SpecParser.Parse(yaml, "var.yaml"));
        Assert.Equal(8, error.Line);
        Assert.Contains("tokenizer stage 'tokenizer' has model: vq (give it model: msvq)", error.Message);
        var fine = SpecParser.Parse(yaml.Replace("  - kind: tokenizer\n", "  - kind: tokenizer\n    model: msvq\n"), "var.yaml");
        Assert.Equal("var", fine.Stages[2].String("model"));
    }

    [Fact]
    public void TokenizeStageResolvesItsTokenizer()
    {
        var spec = SpecParser.Parse(Valid + "\n  - kind: tokenize\n", "t.yaml");
        Assert.Equal("tokenizer", spec.Stages[1].String("tokenizer"));
        var external = SpecParser.Parse(Valid + "\n  - kind: tokenize\n    tokenizer: quickstart-20261128-1/tokenizer\n", "t.yaml");
        Assert.Equal("quickstart-20261128-1/tokenizer", external.Stages[1].String("tokenizer"));
    }

    [Fact]
    public void TokenizeStageWithoutATokenizerIsRejected()
    {
        string yaml = "experiment: x\ndataset:\n  name: mnist\nstages:\n  - kind: tokenize\n";
        Assert.Contains("needs a tokenizer stage before it", Assert.Throws<SpecException>(() => SpecParser.Parse(yaml, "t.yaml")).Message);
        var wrong = Assert.Throws<SpecException>(() => SpecParser.Parse(Valid + "\n  - kind: tokenize\n    tokenizer: nope\n", "t.yaml"));
        Assert.Equal(10, wrong.Line);
        Assert.Contains("names 'nope', which is not a tokenizer stage of this spec", wrong.Message);
    }
}
