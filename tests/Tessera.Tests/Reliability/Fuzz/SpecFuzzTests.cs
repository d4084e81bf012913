using Tessera.Infra.Specs;
using Xunit.Abstractions;

namespace Tessera.Tests.Reliability.Fuzz;

/// <summary>
/// 1,200 mutations of the shipped example specs through the parser (and the writer that echoes an accepted spec):
/// every one is accepted or refused with a <see cref="SpecException"/> naming the file, never anything else.
/// </summary>
public class SpecFuzzTests(ITestOutputHelper output)
{
    public const int Cases = 1200;

    internal static IReadOnlyList<string> Examples()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return Directory.GetFiles(Path.Combine(dir.FullName, "examples"), "*.yaml").Order(StringComparer.Ordinal).Select(File.ReadAllText).ToList();
    }

    /// <summary>Case <paramref name="i"/>: a mutation of one example, the same on every run.</summary>
    internal static string MutatedSpec(IReadOnlyList<string> examples, int i) =>
        Mutations.Text(examples[i % examples.Count], new Random(1000 + i));

    [Fact]
    public void MutatedSpecsAreAcceptedOrRefusedWithTheFileNamed()
    {
        var examples = Examples();
        var tally = new FuzzTally("specs");
        for (int i = 0; i < Cases; i++)
        {
            string file = $"fuzz-{i}.yaml", yaml = MutatedSpec(examples, i);
            tally.Run($"spec case {i}", file, () => SpecWriter.ToYaml(SpecParser.Parse(yaml, file)), typeof(SpecException));
        }
        output.WriteLine(tally.ToString());
        Assert.True(tally.Crashes.Count == 0, tally.ToString());
        Assert.InRange(tally.Accepted, 1, Cases / 2); // the mutations mostly break the spec, and not always
    }
}
