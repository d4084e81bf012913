using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Tessera.Grains;
using Tessera.Infra.Storage;
using Tessera.Silo;
using Tessera.Tests.Dashboard;

namespace Tessera.Tests.Servers;

/// <summary>
/// A cluster-mode silo (Redis membership and grain state, artifacts in Azurite) runs an experiment, stops, and a
/// new silo of the same cluster answers for it from Redis: state, stage results, the scheduler's listing, artifacts.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ClusterSiloRestartTests : IAsyncLifetime
{
    readonly string _runs = Path.Combine(Path.GetTempPath(), $"tessera-restart-{Guid.NewGuid():N}");
    readonly string _container = $"restart-{Guid.NewGuid():N}";
    readonly RecordingSink _events = new();
    string _redis = "";

    public async Task InitializeAsync() => _redis = await TestServers.FreshRedisDatabase(RedisDatabases.Restart);

    public async Task DisposeAsync()
    {
        await new Azure.Storage.Blobs.BlobContainerClient(TestServers.Blob, _container).DeleteIfExistsAsync();
        if (Directory.Exists(_runs)) Directory.Delete(_runs, recursive: true);
    }

    WebApplication StartSilo() => TesseraWebHost.Build(new TesseraSiloOptions
    {
        ArtifactRoot = _runs, SiloPort = 0, GatewayPort = 0, HttpPort = 0, TorchThreads = 2, OrleansDashboard = false,
        RedisConnection = _redis, BlobConnection = TestServers.Blob, BlobContainer = _container,
        ClusterId = $"restart-{Guid.NewGuid():N}"[..16], Slots = 1,
    }, web => web.Services.AddSingleton<ILogEventSink>(_events));

    [Fact]
    public async Task ExperimentStateSurvivesASiloRestart()
    {
        string id = $"restart-{Guid.NewGuid():N}"[..20];
        ExperimentStatus before;
        await using (var first = StartSilo())
        {
            await first.StartAsync();
            var client = first.Services.GetRequiredService<IClusterClient>();
            await TinyExperiments.Submit(client, id, TinyExperiments.TokenizerSpec("restart", steps: 6));
            before = await TinyExperiments.WaitUntilFinished(client, id);
            Assert.True(before.State == ExperimentState.Succeeded, $"{before.State}: {before.Error}");
            await first.StopAsync();
        }

        // The same cluster id would also do; a new one shows the state lives in Redis, not in the old membership.
        await using var second = StartSilo();
        await second.StartAsync();
        var again = second.Services.GetRequiredService<IClusterClient>();
        ExperimentStatus after = await again.GetGrain<IExperimentGrain>(id).GetStatus();
        Assert.Equal(ExperimentState.Succeeded, after.State);
        Assert.Equal(before.FinishedAt, after.FinishedAt);
        var stage = Assert.Single(after.Completed);
        Assert.Equal(before.Completed[0].Metrics["final_loss"], stage.Metrics["final_loss"]);
        Assert.Contains(await again.GetGrain<ISchedulerGrain>(0).List(), l => l.Id == id);

        // The artifacts are in the blob container, and the silo's own directory holds none of them.
        var store = second.Services.GetRequiredService<IArtifactStore>();
        Assert.IsType<BlobArtifactStore>(store);
        var artifacts = await store.ListAsync($"{id}/");
        Assert.Contains($"{id}/summary.json", artifacts);
        Assert.Contains($"{id}/checkpoints/tokenizer.ckpt", artifacts);
        Assert.False(File.Exists(Path.Combine(_runs, id, "summary.json")));
        await second.StopAsync();

        // No log line of either silo, Orleans' own included, shows the account key of the blob connection string.
        string key = TestServers.Blob.Split(';').Single(p => p.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..];
        Assert.NotEmpty(_events.Events);
        Assert.DoesNotContain(_events.Events, e => (e.RenderMessage() + e.Exception + string.Join(",", e.Properties.Values)).Contains(key, StringComparison.Ordinal));
    }
}
