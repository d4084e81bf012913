using System.Text.Json;
using Tessera.Cli;
using Tessera.Cli.CommandLine;
using Tessera.Cli.Output;
using Tessera.Grains;
using Tessera.Infra.Storage;
using Tessera.Silo.Api;
using Tessera.Tests.Dashboard;
using Tessera.Tests.Infra;

namespace Tessera.Tests.Cli;

/// <summary>
/// `--json`: every command of the tree that has it prints one document that parses and has exactly the fields
/// docs/cli-json.md lists, on standard output alone, with the table form's exit codes. Run as real processes
/// against the dashboard tests' silo, as a script would run them.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class JsonOutputTests(DashboardSilo silo)
{
    static readonly Dictionary<string, HashSet<string>> Documented = CliJsonDoc.Read();

    /// <summary>The commands whose `--json` is a switch (the bench commands' `--json FILE` writes a report instead).</summary>
    static IEnumerable<string> CommandsWithJson() =>
        CommandModelReader.All(CommandModelReader.Read())
            .Where(c => CommandModelReader.VisibleOptions(c.Command).Any(o => o.IsFlag && o.LongNames.Contains("json")))
            .Select(c => string.Join(' ', c.Path));

    [Fact]
    public void EveryCommandWithJsonIsDocumented() =>
        Assert.Equal(CommandsWithJson().Order(), Documented.Keys.Order());

    [Fact]
    public async Task EachPrintsOneDocumentWithTheDocumentedFieldsAndTheTablesExitCode()
    {
        string id = await SubmitUntrainable();
        string gateway = silo.GatewayPort.ToString();
        using var files = new TempDirectory();
        string valid = files.Combine("valid.yaml"), invalid = files.Combine("invalid.yaml");
        await File.WriteAllTextAsync(valid, "experiment: demo\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n");
        await File.WriteAllTextAsync(invalid, "experiment: demo\ndataset:\n  name: mnist\nstages:\n  - kind: tokenizer\n    steps: -1\n");
        string corrupt = await CorruptStore(files.Combine("store"));

        // Each command with --json, run for each exit code that comes with a document.
        var runs = new (string Command, string[] Args, int Exit)[]
        {
            ("status", ["status", id, "--gateway", gateway, "--json"], ExitCodes.Success),
            ("list", ["list", "--gateway", gateway, "--json"], ExitCodes.Success),
            ("cluster", ["cluster", "--gateway", gateway, "--json"], ExitCodes.Success),
            ("validate", ["validate", valid, "--json"], ExitCodes.Success),
            ("validate", ["validate", invalid, "--json"], ExitCodes.InvalidInput),
            ("store verify", ["store", "verify", "--runs", silo.RunsDirectory, "--json"], ExitCodes.Success),
            ("store verify", ["store", "verify", "--runs", corrupt, "--json"], ExitCodes.Failed),
            ("version", ["version", "--json"], ExitCodes.Success),
        };
        Assert.Equal(CommandsWithJson().Order(), runs.Select(r => r.Command).Distinct().Order());

        // Each run's document, by its command and exit code (one run of each pair).
        var documents = new Dictionary<(string, int), JsonElement>();
        foreach (var (command, args, expected) in runs)
        {
            var (exit, output, error) = await TesseraProcess.RunAsync(args);
            Assert.True(expected == exit, $"tessera {string.Join(' ', args)}: exit {exit}, not {expected}\n{output}\n{error}");
            using var document = JsonDocument.Parse(output); // the whole of standard output, or this throws
            CliJsonDoc.AssertMatches(document.RootElement, Documented[command]);
            documents.Add((command, exit), document.RootElement.Clone());
        }

        var status = documents[("status", ExitCodes.Success)];
        Assert.Equal("failed", status.GetProperty("state").GetString());
        Assert.Contains("absent", status.GetProperty("error").GetString());
        Assert.Contains(documents[("list", ExitCodes.Success)].GetProperty("experiments").EnumerateArray(), e => e.GetProperty("id").GetString() == id);
        Assert.NotEmpty(documents[("cluster", ExitCodes.Success)].GetProperty("silos").EnumerateArray());
        Assert.False(documents[("validate", ExitCodes.InvalidInput)].GetProperty("valid").GetBoolean());
        var corrupted = Assert.Single(documents[("store verify", ExitCodes.Failed)].GetProperty("corrupt").EnumerateArray());
        Assert.Equal("checkpoints/a.ckpt", corrupted.GetProperty("path").GetString());
        Assert.Matches("^[0-9]+\\.[0-9]+\\.[0-9]+", documents[("version", ExitCodes.Success)].GetProperty("tessera").GetString());

        // No answer, no document: standard output stays empty, and the reason goes to standard error.
        var unknown = await TesseraProcess.RunAsync(["status", "no-such-experiment", "--gateway", gateway, "--json"]);
        Assert.Equal(ExitCodes.InvalidInput, unknown.Exit);
        Assert.Equal("", unknown.Out);
        Assert.Contains("no-such-experiment", unknown.Err);
    }

    [Fact]
    public void WithEveryPartFilledTheDocumentsStillHaveExactlyTheDocumentedFields()
    {
        // What a finished experiment on an idle silo leaves empty: a running stage's progress, a queue, held slots.
        var now = DateTimeOffset.UtcNow;
        var metrics = new Dictionary<string, double> { ["psnr"] = 20.5 };
        var running = new ExperimentStatus("e-1", "e", ExperimentState.Running, "generator", new StageProgress("generator", 5, 10, 0.5, 100, metrics),
            [new StageResult("tokenizer", metrics, [new Tessera.Infra.Storage.ArtifactRef("e-1/recon.png", "ab", 3)], 2.5)], null, now, now, null, 2);
        CliJsonDoc.AssertMatches(Parse(ExperimentViews.Detail(running, now)), Documented["status"]);

        var request = new SlotRequest("e-1", 1, 2, 0, "vision", "generator", 1);
        var queued = new QueuedRequest(request, 1, now, "2 slots, 1 free");
        CliJsonDoc.AssertMatches(Parse(new ExperimentListJson([ListedExperimentJson.From(new ExperimentListing("e-1", "e", now, "vision"), running, queued)])),
            Documented["list"]);

        var cluster = new ClusterSnapshot([new SiloSlots("S127.0.0.1:11111:1", "silo-1", 2, 2)], [new SlotGrant(request, ["S127.0.0.1:11111:1"], now)],
            [queued], new Dictionary<string, int> { ["vision"] = 2 }, new Dictionary<string, int> { ["vision"] = 1 }, 5);
        CliJsonDoc.AssertMatches(Parse(ClusterJson.From(cluster)), Documented["cluster"]);
    }

    /// <summary>
    /// An experiment that fails as it starts (its dataset is not in the store) and so has a state, an error and a
    /// stage without training anything; WithEveryPartFilled covers what a training run adds.
    /// </summary>
    async Task<string> SubmitUntrainable()
    {
        string id = $"json-{Guid.NewGuid():N}"[..13];
        await silo.Client.GetGrain<IExperimentGrain>(id).Submit(new ExperimentSubmission(
            "experiment: json\ndevice: cpu\ndataset:\n  name: absent\n  source: store\nstages:\n  - kind: classifier\n    steps: 5\n",
            "json.yaml", DateTimeOffset.UtcNow));
        await silo.WaitUntilFinished(id);
        return id;
    }

    static JsonElement Parse<T>(T document) => JsonDocument.Parse(JsonOutput.Serialize(document)).RootElement.Clone();

    /// <summary>A local store with one artifact whose bytes no longer match its record.</summary>
    static async Task<string> CorruptStore(string folder)
    {
        await new LocalArtifactStore(folder).WriteAsync("checkpoints/a.ckpt", new MemoryStream(new byte[64]));
        string file = Path.Combine(folder, "checkpoints", "a.ckpt");
        byte[] bytes = await File.ReadAllBytesAsync(file);
        bytes[10] ^= 0x01;
        await File.WriteAllBytesAsync(file, bytes);
        return folder;
    }
}
