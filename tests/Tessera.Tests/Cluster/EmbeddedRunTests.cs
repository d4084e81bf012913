using System.Text.Json;
using Tessera.Cli;

namespace Tessera.Tests.Cluster;

/// <summary>`tessera run` end to end, in-process: embedded silo, real client calls, artifacts on disk, exit code.</summary>
[Collection(TorchCollection.Name)]
public sealed class EmbeddedRunTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), $"tessera-run-{Guid.NewGuid():N}");

    public EmbeddedRunTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RunTrainsAndWritesTheRunFolder()
    {
        string spec = Path.Combine(_dir, "spec.yaml");
        await File.WriteAllTextAsync(spec, """
            experiment: embedded
            seed: 5
            device: cpu
            dataset:
              name: mnist
            stages:
              - kind: tokenizer
                steps: 6
                batch_size: 8
                log_every: 3
                warmup_steps: 1
                hidden_channels: 8
                latent_channels: 8
            """);
        string runs = Path.Combine(_dir, "runs");

        int exit = await TesseraApp.RunAsync(["run", spec, "--runs", runs]);

        Assert.Equal(ExitCodes.Success, exit);
        string run = Assert.Single(Directory.GetDirectories(runs, "embedded-*"));
        foreach (string file in new[] { "spec.yaml", "summary.json", "metrics.jsonl", "recon.png", "checkpoints/tokenizer.ckpt" })
        {
            Assert.True(File.Exists(Path.Combine(run, file)), $"missing {file}");
            Assert.True(File.Exists(Path.Combine(run, file + ".sha256")), $"missing checksum of {file}");
        }
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "summary.json")));
        Assert.Equal("succeeded", summary.RootElement.GetProperty("state").GetString());
        Assert.True(summary.RootElement.GetProperty("wall_seconds").GetDouble() > 0);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(runs, "logs"), "run-*.log"));
    }

    [Fact]
    public void TheRunsDirectoryLockIsHeldUntilDisposedAndNamesItsHolder()
    {
        string runs = Path.Combine(_dir, "locked");
        using (var first = RunsDirectoryLock.TryAcquire(runs, out _))
        {
            Assert.NotNull(first);
            Assert.Null(RunsDirectoryLock.TryAcquire(runs, out string heldBy));
            Assert.StartsWith($"pid {Environment.ProcessId} since ", heldBy);
        }
        using var again = RunsDirectoryLock.TryAcquire(runs, out _);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task ASecondRunOverTheSameRunsDirectoryIsRefusedBeforeItStartsASilo()
    {
        string spec = Path.Combine(_dir, "spec.yaml");
        await File.WriteAllTextAsync(spec, """
            experiment: second
            seed: 5
            device: cpu
            dataset:
              name: mnist
            stages:
              - kind: tokenizer
                steps: 2
            """);
        string runs = Path.Combine(_dir, "runs");
        using var held = RunsDirectoryLock.TryAcquire(runs, out _);

        int exit = await TesseraApp.RunAsync(["run", spec, "--runs", runs]);

        Assert.Equal(ExitCodes.Unavailable, exit);
        Assert.Empty(Directory.GetDirectories(runs, "second-*"));
        Assert.False(Directory.Exists(Path.Combine(runs, "_grains")), "the refused run must not have touched the grain state");
    }
}
