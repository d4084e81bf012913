using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Tessera.Collective.Wire;
using Microsoft.Extensions.Logging;
using Tessera.Collective;

namespace Tessera.Tests.Collective;

/// <summary>A broken ring fails every rank promptly, naming the missing rank; strangers are refused.</summary>
public sealed class RingFailureTests
{
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TestLimit = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_rank_that_never_starts_makes_the_others_fail_naming_it()
    {
        const int n = 3, missing = 2;
        await Rings.WarmUpAsync();
        await using var cluster = await LoopbackCluster.StartAsync(n);
        await cluster.StopAsync(missing); // nothing listens on its endpoint any more
        var clock = Stopwatch.StartNew();
        var ranks = Enumerable.Range(0, n).Where(r => r != missing).Select(async r =>
        {
            await using var ring = await cluster.Hub(r).JoinAsync(cluster.Group(r, "never-started", "s3cret", timeout: ShortTimeout));
            await ring.AllReduceAsync(new float[100]);
        }).ToArray();
        foreach (var rank in ranks)
        {
            var error = await Assert.ThrowsAsync<CollectiveException>(() => rank);
            Assert.Equal(missing, error.MissingRank);
            Assert.Contains($"rank {missing}", error.Message);
        }
        Assert.True(clock.Elapsed < TestLimit, $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_rank_killed_after_joining_makes_the_others_fail_naming_it()
    {
        const int n = 4, killed = 3;
        await Rings.WarmUpAsync();
        await using var cluster = await LoopbackCluster.StartAsync(n);
        var rings = await Rings.JoinAllAsync(cluster, "killed", new CollectiveOptions { ChunkBytes = 1024 }, ShortTimeout);
        // One healthy operation first, so the failure happens on a ring that was working.
        await Task.WhenAll(rings.Select(ring => ring.AllReduceAsync(new float[1000])));
        await rings[killed].DisposeAsync();
        await cluster.StopAsync(killed);
        var clock = Stopwatch.StartNew();
        var survivors = Enumerable.Range(0, n).Where(r => r != killed).Select(r => rings[r].AllReduceAsync(new float[10_000])).ToArray();
        foreach (var survivor in survivors)
        {
            var error = await Assert.ThrowsAsync<CollectiveException>(() => survivor);
            Assert.Equal(killed, error.MissingRank);
            Assert.Contains($"rank {killed}", error.Message);
        }
        Assert.True(clock.Elapsed < TestLimit, $"took {clock.Elapsed}");
        // Broken for good: the coordinator has to form a new generation.
        await Assert.ThrowsAsync<CollectiveException>(() => rings[0].AllReduceAsync(new float[4]));
        await Rings.DisposeAllAsync(rings.Take(killed));
    }

    [Fact]
    public async Task A_peer_with_the_wrong_secret_is_refused_and_the_secret_is_not_logged()
    {
        var logs = new RecordingLoggerProvider();
        await Rings.WarmUpAsync();
        await using var cluster = await LoopbackCluster.StartAsync(2, logging: l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var rings = await Rings.JoinAllAsync(cluster, "secret", secret: "the-real-secret");
        try
        {
            // An intruder claims to be rank 0 (rank 1's right neighbour) and asks rank 1 for its frames with a guessed secret.
            using var channel = GrpcChannel.ForAddress(cluster.Endpoints[1]);
            var headers = new Metadata
            {
                { "tessera-experiment", "secret" }, { "tessera-generation", "1" }, { "tessera-from", "0" }, { "tessera-to", "1" },
                { "tessera-secret", "a-guessed-secret" },
            };
            using var call = new Ring.RingClient(channel).Pull(new Hello { Rank = 0 }, headers);
            var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            var lines = logs.Lines.ToArray();
            Assert.Contains(lines, line => line.Contains("wrong secret"));
            Assert.DoesNotContain(lines, line => line.Contains("the-real-secret") || line.Contains("a-guessed-secret"));
            // The honest ring is unaffected.
            var buffers = new[] { new float[] { 1, 2, 3 }, new float[] { 10, 20, 30 } };
            await Task.WhenAll(rings.Select((ring, r) => ring.AllReduceAsync(buffers[r])));
            Assert.Equal(new float[] { 11, 22, 33 }, buffers[1]);
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }

    [Fact]
    public async Task A_rank_joining_with_the_wrong_secret_fails_to_join()
    {
        await Rings.WarmUpAsync();
        await using var cluster = await LoopbackCluster.StartAsync(2);
        var honest = cluster.Hub(0).JoinAsync(cluster.Group(0, "mixed", "the-real-secret", timeout: ShortTimeout));
        var intruder = cluster.Hub(1).JoinAsync(cluster.Group(1, "mixed", "a-guessed-secret", timeout: ShortTimeout));
        // Each refuses the other; whichever gives up first may leave the other with a timeout instead.
        var errors = new[] { await Assert.ThrowsAsync<CollectiveException>(() => honest), await Assert.ThrowsAsync<CollectiveException>(() => intruder) };
        Assert.Contains(errors, e => e.Message.Contains("PermissionDenied"));
    }

    [Fact]
    public async Task A_stale_generation_is_refused()
    {
        await Rings.WarmUpAsync();
        await using var cluster = await LoopbackCluster.StartAsync(2);
        var current = cluster.Hub(0).JoinAsync(cluster.Group(0, "generations", "s3cret", generation: 5, timeout: ShortTimeout));
        var stale = cluster.Hub(1).JoinAsync(cluster.Group(1, "generations", "s3cret", generation: 4, timeout: ShortTimeout));
        var error = await Assert.ThrowsAsync<CollectiveException>(() => stale);
        Assert.Contains("FailedPrecondition", error.Message);
        await Assert.ThrowsAsync<CollectiveException>(() => current);
    }
}
