using System.Diagnostics;
using Tessera.Cli;
using Tessera.Cli.Commands;
using Tessera.Grains;
using Xunit.Abstractions;

namespace Tessera.Tests.Servers;

/// <summary>
/// Three `tessera silo` processes on the test Redis and Azurite, one slot each, reached by a client through Redis:
/// a 2-rank stage runs with its ranks in two processes; when one silo process is SIGKILLed, membership declares it
/// dead and its slot leaves the inventory; a 2-rank stage still runs on the two that remain.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SiloProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    SiloProcesses _silos = null!;
    ClusterConnection _client = null!;

    public async Task InitializeAsync()
    {
        string redis = await TestServers.FreshRedisDatabase(RedisDatabases.ThreeSilos);
        _silos = new SiloProcesses(redis, $"procs-{Guid.NewGuid():N}"[..14], $"procs-{Guid.NewGuid():N}");
        await Task.WhenAll(Enumerable.Range(1, 3).Select(_silos.StartAsync));
        _client = await ClusterConnection.TryConnectAsync(new GatewaySettings { Redis = redis, ClusterId = _silos.ClusterId }, CancellationToken.None)
            ?? throw new InvalidOperationException("no client connection to the silo processes");
    }

    public async Task DisposeAsync()
    {
        if (_client is not null) await _client.DisposeAsync();
        await _silos.DisposeAsync();
        await new Azure.Storage.Blobs.BlobContainerClient(TestServers.Blob, _silos.Container).DeleteIfExistsAsync();
    }

    ISchedulerGrain Scheduler => _client.Client.GetGrain<ISchedulerGrain>(0);

    async Task<ClusterSnapshot> WaitForSnapshot(Func<ClusterSnapshot, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer yet";
        while (true)
        {
            try
            {
                var snapshot = await Scheduler.Snapshot();
                if (done(snapshot)) return snapshot;
                last = $"silos {string.Join(", ", snapshot.Silos.Select(s => s.Name))}";
            }
            catch (Exception e) when (e is OrleansMessageRejectionException or TimeoutException or SiloUnavailableException)
            {
                // Until membership declares a killed silo dead, calls routed to grains it held fail fast like this.
                last = e.GetType().Name;
            }
            Assert.True(DateTime.UtcNow < deadline, $"not there after {timeout.TotalSeconds:F0}s: {last}");
            await Task.Delay(250);
        }
    }

    /// <summary>Runs a 2-rank tokenizer to success and returns the silos its two trainer grains were activated on.</summary>
    async Task<string[]> RunTwoRanks(string name)
    {
        string id = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];
        await TinyExperiments.Submit(_client.Client, id, TinyExperiments.TokenizerSpec(name, steps: 6, workers: 2));
        var done = await TinyExperiments.WaitFor(_client.Client, id, s => s.IsFinished, TimeSpan.FromMinutes(3));
        Assert.True(done.State == ExperimentState.Succeeded, $"{id}: {done.State} {done.Error}");
        var management = _client.Client.GetGrain<IManagementGrain>(0);
        var silos = new string[2];
        for (int rank = 0; rank < 2; rank++)
        {
            var address = await management.GetActivationAddress(_client.Client.GetGrain<ITrainerGrain>($"{id}/tokenizer/{rank}"));
            silos[rank] = address?.ToParsableString() ?? throw new InvalidOperationException($"rank {rank} of {id} has no activation");
        }
        return silos;
    }

    [Fact]
    public async Task AKilledSiloProcessLeavesTheInventoryAndTwoRankStagesStillRun()
    {
        await WaitForSnapshot(s => s.Silos.Count == 3, TimeSpan.FromMinutes(1));
        var ranks = await RunTwoRanks("procs");
        Assert.Equal(2, ranks.Distinct().Count());

        // Kill the silo process that held no rank.
        var all = (await Scheduler.Snapshot()).Silos;
        var idle = all.Single(s => !ranks.Contains(s.Silo));
        int n = _silos.NumberOf(idle.Silo);
        var clock = Stopwatch.StartNew();
        _silos.Kill(n);
        await WaitForSnapshot(s => s.Silos.Count == 2 && s.Silos.All(x => x.Silo != idle.Silo), TimeSpan.FromMinutes(3));
        output.WriteLine($"SIGKILLed silo {idle.Name} left the slot inventory after {clock.Elapsed.TotalSeconds:F1} s");

        var after = await RunTwoRanks("after");
        Assert.Equal(2, after.Distinct().Count());
        Assert.DoesNotContain(idle.Silo, after);
    }
}
