using Tessera.Infra.Specs;

namespace Tessera.Tests.Specs;

/// <summary>The README documents exactly the schema the parser enforces.</summary>
public class ReadmeSchemaTests
{
    [Fact]
    public void ReadmeSchemaSectionMatchesTheCode()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        string readme = File.ReadAllText(Path.Combine(dir.FullName, "README.md"));
        const string begin = "<!-- schema:begin -->\n", end = "<!-- schema:end -->";
        int from = readme.IndexOf(begin, StringComparison.Ordinal) + begin.Length, to = readme.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= begin.Length && to > from, "README.md has no schema section");
        Assert.Equal(SchemaMarkdown.Render(), readme[from..to]);
    }
}
