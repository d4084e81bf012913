using Tessera.Infra.Specs;

namespace Tessera.Tests.Specs;

/// <summary>The run order of a spec's stages: references and `after:` are dependencies, spec order breaks ties.</summary>
public class SpecWorkflowTests
{
    static string Spec(string stages) => "experiment: flow\ndataset:\n  name: mnist\nstages:\n" + stages;

    static string[] Order(string stages) => SpecParser.Parse(Spec(stages), "flow.yaml").Stages.Select(s => s.Name).ToArray();

    [Fact]
    public void WithoutForwardReferencesStagesRunAsWritten()
    {
        Assert.Equal(["tokenizer", "classifier", "tokenize", "generator", "eval"],
            Order("  - kind: tokenizer\n  - kind: classifier\n  - kind: tokenize\n  - kind: generator\n  - kind: eval\n"));
    }

    [Fact]
    public void AfterAndForwardReferencesMoveAStageBehindWhatItNeeds()
    {
        // The classifier is written first but asked to wait for the generator; the tokenize stage names a
        // tokenizer written after it.
        string stages = """
              - kind: classifier
                after: [generator]
              - kind: tokenize
                tokenizer: vq
              - kind: tokenizer
                name: vq
              - kind: generator
                tokenizer: vq
            """;
        Assert.Equal(["vq", "tokenize", "generator", "classifier"], Order(stages + "\n"));
        var spec = SpecParser.Parse(Spec(stages + "\n"), "flow.yaml");
        Assert.Equal(["generator"], spec.Stages[3].After);
    }

    [Fact]
    public void ResolvedSpecKeepsTheOrderAndTheAfterLists()
    {
        var spec = SpecParser.Parse(Spec("  - kind: classifier\n    after: tokenizer\n  - kind: tokenizer\n"), "flow.yaml");
        var again = SpecParser.Parse(SpecWriter.ToYaml(spec), "resolved.yaml");
        Assert.Equal(spec.Stages.Select(s => (s.Name, string.Join(",", s.After))), again.Stages.Select(s => (s.Name, string.Join(",", s.After))));
        Assert.Equal(["tokenizer", "classifier"], again.Stages.Select(s => s.Name));
    }

    [Fact]
    public void ACycleIsRefusedNamingItsStages()
    {
        var error = Assert.Throws<SpecException>(() => SpecParser.Parse(Spec(
            "  - kind: tokenizer\n    after: [classifier]\n  - kind: classifier\n    after: [eval]\n  - kind: eval\n    generator: x/generator\n    classifier: x/classifier\n    after: [tokenizer]\n"), "flow.yaml"));
        Assert.Contains("cycle: tokenizer -> classifier -> eval -> tokenizer", error.Message);
        Assert.Equal(5, error.Line);
    }

    [Theory]
    [InlineData("    after: [nope]\n", "'after' in stage 'tokenizer' names 'nope', which is not a stage of this spec", 6)]
    [InlineData("    after: tokenizer\n", "stage 'tokenizer' cannot run after itself", 6)]
    [InlineData("    after: [classifier, classifier]\n", "names 'classifier' twice", 6)]
    [InlineData("    after: {a: 1}\n", "must be a stage name or a list of stage names", 6)]
    public void BadAfterListsNameTheLine(string after, string problem, int line)
    {
        var error = Assert.Throws<SpecException>(() => SpecParser.Parse(Spec("  - kind: tokenizer\n" + after + "  - kind: classifier\n"), "flow.yaml"));
        Assert.Contains(problem, error.Message);
        Assert.Equal(line, error.Line);
    }

    [Fact]
    public void AlignedGeneratorsCountAsGenerators()
    {
        Assert.True(StageSchemas.Makes("cca", "generator"));
        Assert.True(StageSchemas.Makes("generator", "generator"));
        Assert.False(StageSchemas.Makes("cca", "tokenizer"));
        Assert.False(StageSchemas.Makes("classifier", "generator"));
    }
}
