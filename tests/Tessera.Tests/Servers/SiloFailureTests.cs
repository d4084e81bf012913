using Tessera.Silo;
using System.Diagnostics;
using System.Text.Json;
using Tessera.Cli;
using Tessera.Cli.Commands;
using Tessera.Grains;
using Tessera.Stages;
using Tessera.Infra.Storage;
using Xunit.Abstractions;

namespace Tessera.Tests.Servers;

/// <summary>
/// The fault test of cluster mode: `tessera silo` processes (one slot each) on real Redis and Azurite run a two-rank
/// stage; one silo running a rank is killed with SIGKILL mid-training; the stage re-forms on the silos that remain and
/// the experiment completes from its last checkpoint, its loss curve continuing where it stopped. With three silos the
/// stage gets its two slots again; with two, only one slot is left and `min_workers: 1` lets it continue on one rank
/// that accumulates both workers' gradients.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SiloFailureTests(ITestOutputHelper output) : IAsyncLifetime
{
    readonly string _root = Path.Combine(Path.GetTempPath(), $"tessera-failover-{Guid.NewGuid():N}");
    readonly string _container = $"failover-{Guid.NewGuid():N}"[..24];
    readonly string _clusterId = $"failover-{Guid.NewGuid():N}"[..16];
    readonly List<(Process Process, int Port)> _silos = [];
    string _redis = "";

    const int Steps = 400;

    static string Spec(int minWorkers) => $"""
        experiment: failover
        seed: 5
        device: cpu
        max_restarts: 6
        dataset:
          name: mnist
          shards: 2
        stages:
          - kind: tokenizer
            quantizer: simvq
            workers: 2
            min_workers: {minWorkers}
            steps: {Steps}
            batch_size: 16
            log_every: 10
            checkpoint_every: 20
            peer_timeout_seconds: 10
            warmup_steps: 2
            hidden_channels: 8
            latent_channels: 8
        """;

    public async Task InitializeAsync()
    {
        _redis = await TestServers.FreshRedisDatabase(RedisDatabases.Failure);
        Directory.CreateDirectory(_root);
    }

    public async Task DisposeAsync()
    {
        foreach (var (process, _) in _silos)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
        await new Azure.Storage.Blobs.BlobContainerClient(TestServers.Blob, _container).DeleteIfExistsAsync();
        // TESSERA_KEEP_TEST_DIRS=1 keeps the silos' logs for a post-mortem.
        if (Environment.GetEnvironmentVariable("TESSERA_KEEP_TEST_DIRS") != "1") Directory.Delete(_root, recursive: true);
    }

    /// <summary>A silo process of the cluster: one slot, its own ports and log directory; connection strings by environment, not argv.</summary>
    (Process, int) StartSilo(int index)
    {
        int port = FreePorts.Next();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (string arg in new[] { typeof(TesseraApp).Assembly.Location, "silo", "--slots", "1", "--cluster-id", _clusterId,
                     "--port", $"{port}", "--gateway", $"{FreePorts.Next()}", "--http", $"{FreePorts.Next()}", "--runs", Path.Combine(_root, $"silo{index}") })
            start.ArgumentList.Add(arg);
        start.Environment["TESSERA_REDIS"] = _redis;
        start.Environment["TESSERA_BLOB"] = TestServers.Blob;
        start.Environment["TESSERA_BLOB_CONTAINER"] = _container;
        var process = Process.Start(start)!;
        string log = Path.Combine(_root, $"silo{index}.out");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) File.AppendAllText(log, e.Data + "\n"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) File.AppendAllText(log, e.Data + "\n"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, port);
    }

    /// <summary>
    /// How many slots the stage's newest start held, from the silos' logs ("Stage tokenizer: K slot(s) on ...", or "K of W slot(s) free" when it started on fewer). Read
    /// from the logs rather than a scheduler snapshot: on a quiet machine the new generation can finish the stage before
    /// a call to a grain that lived on the killed silo stops timing out, so its slots are gone by the time one answers.
    /// </summary>
    int RanksOfTheLastStart()
    {
        var starts = Directory.GetFiles(_root, "*.out").SelectMany(File.ReadLines)
            .Select(line => System.Text.RegularExpressions.Regex.Match(line, @"^(\d\d:\d\d:\d\d\.\d+) .*Stage tokenizer: (\d+) (?:of \d+ )?slot\(s\)"))
            .Where(m => m.Success).OrderBy(m => m.Groups[1].Value, StringComparer.Ordinal).ToList();
        Assert.True(starts.Count >= 2, $"expected the stage to start twice in the silos' logs, found {starts.Count} start(s)");
        return int.Parse(starts[^1].Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
    }


    async Task<T> Until<T>(Func<Task<T?>> probe, TimeSpan timeout, string what) where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // Calls to grains that lived on the killed silo time out until membership declares it dead: ask again.
            try { if (await probe() is { } value) return value; }
            catch (Exception e) when (e is TimeoutException or OrleansException) { output.WriteLine($"{clock.Elapsed.TotalSeconds:F0} s: {e.GetType().Name}: {e.Message.Split('\n')[0]}"); }
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"{what} not within {timeout.TotalSeconds:F0} s; silo output in {_root}: " +
                    string.Join(" | ", Directory.GetFiles(_root, "*.out").Select(f => string.Join(" / ", File.ReadLines(f).TakeLast(3)))));
            await Task.Delay(250);
        }
    }

    [Fact]
    public Task AKilledSiloLeavesTheExperimentToFinishFromItsLastCheckpoint() =>
        KillARankMidTraining(silos: 3, minWorkers: 2, ranksAfter: 2);

    [Fact]
    public Task WithTooFewSlotsLeftTheStageContinuesOnFewerRanksFromItsCheckpoint() =>
        KillARankMidTraining(silos: 2, minWorkers: 1, ranksAfter: 1);

    async Task KillARankMidTraining(int silos, int minWorkers, int ranksAfter)
    {
        for (int i = 0; i < silos; i++) _silos.Add(StartSilo(i));
        var settings = new GatewaySettings { Redis = _redis, ClusterId = _clusterId, Runs = Path.Combine(_root, "client") };
        await using var connection = await Until(() => ClusterConnection.TryConnectAsync(settings, CancellationToken.None), TimeSpan.FromMinutes(2), "a silo");
        var client = connection.Client;
        var scheduler = client.GetGrain<ISchedulerGrain>(0);
        await Until(async () => (await scheduler.Snapshot()).Silos.Count == silos ? "" : null, TimeSpan.FromMinutes(2), $"{silos} silos with slots");

        const string id = "failover-1";
        var experiment = client.GetGrain<IExperimentGrain>(id);
        await experiment.Submit(new ExperimentSubmission(Spec(minWorkers), "failover.yaml", DateTimeOffset.UtcNow));

        // Mid-training: both ranks placed, and a checkpoint or two behind them.
        var store = BlobArtifactStore.Connect(TestServers.Blob, _container);
        string index = StageResume.Index(id, "tokenizer");
        int checkpoint = (await Until(async () => await store.ExistsAsync(index)
            ? JsonSerializer.Deserialize<List<StageResume.Entry>>(await store.ReadTextAsync(index))!.Max(e => (int?)e.Step) is >= 40 and int step ? (object)step : null
            : null, TimeSpan.FromMinutes(3), "a checkpoint at step 40") as int?)!.Value;
        var grant = (await scheduler.Snapshot()).Running.Single(g => g.Request.ExperimentId == id);
        Assert.Equal(2, grant.Silos.Count);
        var victim = _silos.Single(s => grant.Silos[1].Contains($":{s.Port}@", StringComparison.Ordinal));
        int stepAtKill = (await experiment.GetStatus()).Progress?.Step ?? 0;
        victim.Process.Kill(entireProcessTree: true); // SIGKILL: no drain, no goodbye
        var killedAt = Stopwatch.StartNew();
        var killTime = DateTimeOffset.UtcNow;

        // Training again: progress reported by the restarted generation (the survivor of the old one is stuck in its
        // all-reduce until its peer timeout, so any report well after the kill is the new generation's).
        await Until(async () =>
        {
            if ((await experiment.GetMetrics(0)).Any(p => p.Time > killTime + TimeSpan.FromSeconds(1))) return "";
            var now = await experiment.GetStatus();
            Assert.False(now.IsFinished, $"the experiment ended instead of recovering: {now.State}: {now.Error}");
            return null;
        }, TimeSpan.FromMinutes(5), "training after the kill");
        double recovery = killedAt.Elapsed.TotalSeconds;

        var status = await Until(async () => await experiment.GetStatus() is { IsFinished: true } done ? done : null, TimeSpan.FromMinutes(5), "the end");
        Assert.True(status.State == ExperimentState.Succeeded, $"{status.State}: {status.Error}");
        var metrics = Assert.Single(status.Completed).Metrics;
        int ranks = RanksOfTheLastStart();
        output.WriteLine($"{silos} silos, min_workers {minWorkers}: killed the silo of rank 1 at step ~{stepAtKill} (checkpoint {checkpoint}); " +
            $"training again after {recovery:F1} s on {ranks} rank(s), resumed from step {metrics["resumed_from_step"]}");
        Assert.Equal(Steps, metrics["steps"]);
        Assert.InRange(metrics["resumed_from_step"], checkpoint, Steps - 1);
        // The new generation runs on as many ranks as the survivors' slots allow: all its workers, or fewer.
        Assert.Equal(ranksAfter, ranks);

        // The loss curve continues where it stopped: each reported step once, in order, up to the last.
        var steps = (await experiment.GetMetrics(0)).Select(p => p.Step).ToList();
        Assert.Equal(Enumerable.Range(1, Steps / 10).Select(i => i * 10), steps);
        // Nothing ran on the dead silo afterwards: the second generation's ranks are on the survivors.
        Assert.DoesNotContain(victim.Port, (await scheduler.Snapshot()).Silos.Select(s => _silos.Single(p => s.Silo.Contains($":{p.Port}@")).Port));
    }
}
