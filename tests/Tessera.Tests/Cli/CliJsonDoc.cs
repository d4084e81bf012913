using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tessera.Tests.Cli;

/// <summary>
/// docs/cli-json.md read as the contract it is: for each command, the fields its `--json` document has; and a check
/// that a document has exactly those (each listed one, and none unlisted) wherever its objects are present.
/// </summary>
public static partial class CliJsonDoc
{
    public static string Path => System.IO.Path.Combine(RepoRoot(), "docs", "cli-json.md");

    /// <summary>Command path ("store verify") to its documented fields ("corrupt[].path").</summary>
    public static Dictionary<string, HashSet<string>> Read()
    {
        var fields = new Dictionary<string, HashSet<string>>();
        HashSet<string>? current = null;
        foreach (string line in File.ReadLines(Path))
        {
            if (Heading().Match(line) is { Success: true } heading)
                fields[heading.Groups["command"].Value.Trim()] = current = [];
            else if (Row().Match(line) is { Success: true } row && current is not null)
                current.Add(row.Groups["field"].Value);
        }
        return fields;
    }

    /// <summary>
    /// Every documented field is present (null allowed) in each object that holds it, and every field present is
    /// documented. An object none of whose fields are listed is a map (metrics, quotas): its keys are data.
    /// </summary>
    public static void AssertMatches(JsonElement element, IReadOnlySet<string> documented, string path = "")
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray()) AssertMatches(item, documented, $"{path}[]");
            return;
        }
        if (element.ValueKind != JsonValueKind.Object) return;
        string prefix = path.Length == 0 ? "" : $"{path}.";
        var children = documented.Where(f => f.StartsWith(prefix, StringComparison.Ordinal) && IsChild(f[prefix.Length..])).ToHashSet();
        if (children.Count == 0 && path.Length > 0) return;
        var present = element.EnumerateObject().Select(p => $"{prefix}{p.Name}").ToHashSet();
        Assert.True(present.SetEquals(children),
            $"at '{(path.Length == 0 ? "(top)" : path)}': not documented: [{string.Join(", ", present.Except(children))}]; " +
            $"documented but missing: [{string.Join(", ", children.Except(present))}]");
        foreach (var property in element.EnumerateObject()) AssertMatches(property.Value, documented, $"{prefix}{property.Name}");
    }

    /// <summary>A name one level down: "b" of "a.b", not "b.c" nor "b[].c".</summary>
    static bool IsChild(string rest) => rest.Length > 0 && !rest.Contains('.') && !rest.Contains('[');

    static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Platform.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("no Platform.sln above the test binaries");
    }

    /// <summary>"## `tessera store verify --json`": the command is the words before the first argument or option.</summary>
    [GeneratedRegex(@"^## `tessera (?<command>[a-z][a-z -]*?) (<|\[|--)")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^\| `(?<field>[a-z0-9_.\[\]]+)` \|")]
    private static partial Regex Row();
}
