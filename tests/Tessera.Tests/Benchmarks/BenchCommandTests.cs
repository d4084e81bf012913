using System.Text.Json;
using Tessera.Cli;
using Tessera.Tests.Infra;
using Tessera.Trainers;

namespace Tessera.Tests.Benchmarks;

/// <summary>`tessera bench step` and `bench sample` end to end on a tiny spec: exit codes, JSON report, one child per thread count.</summary>
[Collection(TorchCollection.Name)]
public class BenchCommandTests
{
    private const string TinySpec = """
        experiment: tiny
        dataset:
          name: mnist
        stages:
          - kind: tokenizer
            codebook_size: 32
            hidden_channels: 8
            latent_channels: 16
          - kind: generator
            model_dim: 32
            layers: 1
            heads: 2
            batch_size: 8
        """;

    public BenchCommandTests() => TorchRuntime.Initialize(2);

    [Fact]
    public async Task StepRunsEachThreadCountInItsOwnProcessAndWritesJson()
    {
        using var dir = new TempDirectory();
        string spec = dir.Combine("tiny.yaml"), json = dir.Combine("step.json");
        await File.WriteAllTextAsync(spec, TinySpec);

        int exit = await TesseraApp.RunAsync(["bench", "step", "--workload", $"{spec}:generator", "--threads", "1", "--steps", "10", "--warmup", "1", "--json", json]);

        Assert.Equal(ExitCodes.Success, exit);
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = report.RootElement;
        Assert.Equal("step", root.GetProperty("bench").GetString());
        Assert.True(root.GetProperty("machine").GetProperty("cores").GetInt32() > 0);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("machine").GetProperty("libraries").GetProperty("TorchSharp").GetString()));
        var result = Assert.Single(root.GetProperty("results").EnumerateArray());
        // This test process runs libtorch with 2 threads: 1 here means the step ran in a child process of its own.
        Assert.Equal(1, result.GetProperty("threads").GetInt32());
        Assert.Equal("tiny.yaml:generator", result.GetProperty("workload").GetString());
        Assert.Equal(10, result.GetProperty("stepMs").GetArrayLength());
        Assert.True(result.GetProperty("medianMs").GetDouble() > 0);
    }

    [Fact]
    public async Task StepRejectsAnUnknownWorkloadWithExitCodeTwo()
    {
        Assert.Equal(ExitCodes.InvalidInput, await TesseraApp.RunAsync(["bench", "step", "--workload", "no-such-model", "--threads", "1"]));
        Assert.Equal(ExitCodes.InvalidInput, await TesseraApp.RunAsync(["bench", "step", "--workload", "ref-gpt", "--steps", "5"]));
    }

    [Fact]
    public async Task SampleMeasuresBothGeneratorsGuidedAndFreeAndTheirRatios()
    {
        using var dir = new TempDirectory();
        string spec = dir.Combine("tiny.yaml"), json = dir.Combine("sample.json");
        await File.WriteAllTextAsync(spec, TinySpec);

        int exit = await TesseraApp.RunAsync(["bench", "sample", "--spec", spec, "--batches", "2", "--repeats", "1", "--json", json]);

        Assert.Equal(ExitCodes.Success, exit);
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var results = report.RootElement.GetProperty("results");
        var rows = results.GetProperty("results").EnumerateArray()
            .Select(r => (r.GetProperty("generator").GetString() + " " + r.GetProperty("mode").GetString(), r.GetProperty("cfg").ValueKind == JsonValueKind.Null,
                r.GetProperty("imagesPerSecond").GetDouble()))
            .ToList();
        Assert.Equal(8, rows.Count);
        foreach (var mode in new[] { "gpt kv-cache", "gpt uncached", "var kv-cache", "var uncached" })
        {
            Assert.Contains(rows, r => r.Item1 == mode && r.Item2);
            Assert.Contains(rows, r => r.Item1 == mode && !r.Item2);
        }
        Assert.All(rows, r => Assert.True(r.Item3 > 0));
        Assert.Equal(2, results.GetProperty("ratios").GetArrayLength());
    }
}
