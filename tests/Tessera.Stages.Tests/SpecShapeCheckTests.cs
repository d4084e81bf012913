using Tessera.Infra.Data;
using Tessera.Infra.Specs;

namespace Tessera.Stages.Tests;

/// <summary>A spec is checked against its dataset's shape before anything runs, and the error names the spec line.</summary>
public class SpecShapeCheckTests
{
    static DatasetManifest Colour(int side) => new("mine", ["a", "b"], 3, side, side, [], []);

    static void Check(string stages, DatasetManifest manifest)
    {
        string yaml = $"experiment: s\ndataset:\n  name: mine\n  source: store\nstages:\n{stages}";
        SpecShapeCheck.Check(SpecParser.Parse(yaml, "s.yaml"), manifest, yaml, "s.yaml");
    }

    [Fact]
    public void ADownsampleThatDoesNotDivideTheSideIsRefusedAtItsLine()
    {
        var error = Assert.Throws<SpecException>(() => Check("  - kind: tokenizer\n    downsample: 16\n", Colour(40)));
        Assert.Equal(7, error.Line);
        Assert.Contains("3x40x40", error.Message);
        Assert.StartsWith("s.yaml:7:", error.Message);
    }

    [Fact]
    public void AScheduleThatDoesNotEndAtTheGridSideIsRefusedAtItsLine()
    {
        // 64 / default downsample 8 = an 8x8 grid; a schedule ending at 7 cannot be right.
        var error = Assert.Throws<SpecException>(() => Check("  - kind: tokenizer\n    model: msvq\n    scales: 1,2,3,5,7\n", Colour(64)));
        Assert.Equal(8, error.Line);
        Assert.Contains("grid side 8", error.Message);
    }

    [Fact]
    public void ANonSquareDatasetIsRefusedNamingSize()
    {
        var error = Assert.Throws<SpecException>(() => Check("  - kind: tokenizer\n", new DatasetManifest("wide", ["a"], 3, 32, 48, [], [])));
        Assert.Contains("--size", error.Message);
    }

    [Theory]
    [InlineData(32, "  - kind: tokenizer\n")]
    [InlineData(64, "  - kind: tokenizer\n    model: msvq\n")]
    [InlineData(64, "  - kind: tokenizer\n    downsample: 16\n    model: msvq\n    scales: 1,2,4\n")]
    public void FittingSpecsPass(int side, string stages) => Check(stages, Colour(side));
}
