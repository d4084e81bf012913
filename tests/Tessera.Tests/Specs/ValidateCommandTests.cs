using Tessera.Cli;

namespace Tessera.Tests.Specs;

/// <summary>The CLI turns an invalid spec into exit code 2 before anything starts.</summary>
public class ValidateCommandTests
{
    [Fact]
    public async Task InvalidSpecExitsWithCodeTwo()
    {
        string file = Path.Combine(Path.GetTempPath(), $"tessera-bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "experiment: demo\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n    steps: -1\n");
        try
        {
            Assert.Equal(ExitCodes.InvalidInput, await TesseraApp.RunAsync(["validate", file]));
            Assert.Equal(ExitCodes.InvalidInput, await TesseraApp.RunAsync(["run", file, "--runs", Path.GetTempPath()]));
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task ValidSpecExitsWithCodeZero()
    {
        string file = Path.Combine(Path.GetTempPath(), $"tessera-good-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "experiment: demo\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n");
        try { Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["validate", file])); }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task MissingSpecFileExitsWithCodeTwo()
    {
        Assert.Equal(ExitCodes.InvalidInput, await TesseraApp.RunAsync(["validate", "/nonexistent/spec.yaml"]));
    }
}
