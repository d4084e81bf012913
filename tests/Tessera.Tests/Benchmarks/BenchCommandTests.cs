using Tessera.Bench;
using Tessera.Bench.Commands;
using System.Text.Json;
using Tessera.Cli;
using Tessera.Tests.Infra;
using Tessera.Trainers;

namespace Tessera.Tests.Benchmarks;

/// <summary>`tessera-bench step` and `bench sample` end to end on a tiny spec: exit codes, JSON report, one child per thread count.</summary>
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

        int exit = await BenchApp.RunAsync(["step", "--workload", $"{spec}:generator", "--threads", "1", "--steps", "10", "--warmup", "1", "--json", json]);

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
    public async Task DpRunsOneRankAndTwoRanksOverTheRingAndWritesJson()
    {
        using var dir = new TempDirectory();
        string json = dir.Combine("dp.json");

        int exit = await BenchApp.RunAsync(["dp", "--workload", "ref-gpt", "--workers", "2", "--steps", "10", "--warmup", "1", "--json", json]);

        Assert.Equal(ExitCodes.Success, exit);
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var results = report.RootElement.GetProperty("results").GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([1, 2, 2], results.Select(r => r.GetProperty("workers").GetInt32()));
        Assert.Equal([false, false, true], results.Select(r => r.GetProperty("independent").GetBoolean()));
        var one = results[0];
        var two = results[1];
        var sideBySide = results[2];
        Assert.Equal(1, one.GetProperty("ranks").GetArrayLength());
        Assert.Equal(2, two.GetProperty("ranks").GetArrayLength());
        // Every rank ran on one libtorch thread and timed its 10 steps; only the 2-rank run averaged gradients.
        Assert.All(two.GetProperty("ranks").EnumerateArray(), r =>
        {
            Assert.Equal(1, r.GetProperty("threads").GetInt32());
            Assert.Equal(10, r.GetProperty("stepMs").GetArrayLength());
        });
        Assert.Equal(0, one.GetProperty("allReduceMs").GetDouble());
        Assert.True(two.GetProperty("allReduceMs").GetDouble() > 0);
        long parameters = two.GetProperty("ranks")[0].GetProperty("parameters").GetInt64();
        Assert.Equal(parameters * sizeof(float), two.GetProperty("syncBufferBytes").GetInt64());
        // The side-by-side ranks trained, each on its own thread, but never averaged (no ring, no buffer).
        Assert.Equal(2, sideBySide.GetProperty("ranks").GetArrayLength());
        Assert.Equal(0, sideBySide.GetProperty("allReduceMs").GetDouble());
        Assert.Equal(0, sideBySide.GetProperty("syncBufferBytes").GetInt64());
        var overhead = Assert.Single(report.RootElement.GetProperty("results").GetProperty("overheadPercent").EnumerateArray());
        // The overhead splits into sharing the machine and the all-reduce: (1 + a)(1 + b) = 1 + total.
        double total = overhead.GetProperty("percent").GetDouble(), sharing = overhead.GetProperty("sharingPercent").GetDouble(),
            averaging = overhead.GetProperty("dataParallelPercent").GetDouble();
        Assert.Equal(1 + total / 100, (1 + sharing / 100) * (1 + averaging / 100), 6);
    }

    [Fact]
    public async Task DpRefusesAWorkloadItCannotSplit() =>
        Assert.Equal(ExitCodes.InvalidInput, await BenchApp.RunAsync(["dp", "--workload", "quickstart.yaml", "--workers", "2"]));

    [Fact]
    public async Task StepRejectsAnUnknownWorkloadWithExitCodeTwo()
    {
        Assert.Equal(ExitCodes.InvalidInput, await BenchApp.RunAsync(["step", "--workload", "no-such-model", "--threads", "1"]));
        Assert.Equal(ExitCodes.InvalidInput, await BenchApp.RunAsync(["step", "--workload", "ref-gpt", "--steps", "5"]));
    }

    [Fact]
    public async Task SampleMeasuresBothGeneratorsGuidedAndFreeAndTheirRatios()
    {
        using var dir = new TempDirectory();
        string spec = dir.Combine("tiny.yaml"), json = dir.Combine("sample.json");
        await File.WriteAllTextAsync(spec, TinySpec);

        int exit = await BenchApp.RunAsync(["sample", "--spec", spec, "--batches", "2", "--repeats", "1", "--json", json]);

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
