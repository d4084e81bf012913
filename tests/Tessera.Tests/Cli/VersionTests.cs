using System.Text.RegularExpressions;

namespace Tessera.Tests.Cli;

/// <summary>`tessera --version` and `tessera version`: the build, its commit, and the runtime and torch under it.</summary>
public sealed class VersionTests
{
    [Fact]
    public async Task VersionOptionAndCommandPrintTheSameReport()
    {
        var (exit, output, error) = await TesseraProcess.RunAsync(["--version"]);
        Assert.True(exit == 0, error);
        Assert.Equal(output, (await TesseraProcess.RunAsync(["version"])).Out);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Equal(["tessera", "commit", ".NET", "Orleans", "TorchSharp", "libtorch", "GPU"], lines.Select(l => l.Split(' ')[0]));
        Assert.Matches(@"^libtorch +[0-9]+\.[0-9]+\.[0-9]+.* \((cpu|cuda) build\)$", lines[5]);
        Assert.Equal($".NET {Environment.Version}", Regex.Replace(lines[2], " +", " "));
        // Built inside a git checkout (a worktree's .git is a file), the commit is known.
        string commit = Regex.Replace(lines[1], "^commit +", "");
        if (Directory.Exists(Path.Combine(RepoRoot(), ".git")) || File.Exists(Path.Combine(RepoRoot(), ".git")))
            Assert.Matches("^[0-9a-f]{40}$", commit);
        else
            Assert.StartsWith("unknown", commit);
    }

    static string RepoRoot() => Path.GetDirectoryName(Path.GetDirectoryName(CliJsonDoc.Path))!;
}
