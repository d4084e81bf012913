using Tessera.Infra.Specs;

namespace Tessera.Tests.Specs;

/// <summary>The README documents exactly the schema the parser enforces, and every shipped example is a valid spec.</summary>
public class ReadmeSchemaTests
{
    static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return dir.FullName;
    }

    [Fact]
    public void ReadmeSchemaSectionMatchesTheCode()
    {
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        const string begin = "<!-- schema:begin -->\n", end = "<!-- schema:end -->";
        int from = readme.IndexOf(begin, StringComparison.Ordinal) + begin.Length, to = readme.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= begin.Length && to > from, "README.md has no schema section");
        Assert.Equal(SchemaMarkdown.Render(), readme[from..to]);
    }

    [Fact]
    public void EveryExampleParsesAndTheQuickstartIsTheWholePipeline()
    {
        string[] files = Directory.GetFiles(Path.Combine(RepoRoot(), "examples"), "*.yaml");
        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            var spec = SpecParser.Parse(File.ReadAllText(file), Path.GetFileName(file)); // throws with file:line:column if not
            Assert.Equal(Path.GetFileNameWithoutExtension(file), spec.Experiment);
        }
        var quickstart = SpecParser.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "examples", "quickstart.yaml")), "quickstart.yaml");
        Assert.Equal(["tokenizer", "tokenize", "generator", "classifier", "eval"], quickstart.Stages.Select(s => s.Kind));
    }
}
