using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tessera.Collective;

namespace Tessera.Tests.Collective;

/// <summary>Helpers shared by the collective tests: a loopback cluster, joined communicators, recorded logs.</summary>
internal static class Rings
{
    public static async Task<RingCommunicator[]> JoinAllAsync(LoopbackCluster cluster, string experiment, CollectiveOptions? options = null,
        TimeSpan? timeout = null, string secret = "s3cret")
    {
        int n = cluster.Endpoints.Count;
        var joins = Enumerable.Range(0, n)
            .Select(r => cluster.Hub(r).JoinAsync(cluster.Group(r, experiment, secret, timeout: timeout ?? TimeSpan.FromSeconds(10)), options))
            .ToArray();
        return await Task.WhenAll(joins);
    }

    public static async Task DisposeAllAsync(IEnumerable<RingCommunicator> rings)
    {
        foreach (var ring in rings) await ring.DisposeAsync();
    }

    private static readonly Lazy<Task> Warm = new(async () =>
    {
        await using var cluster = await LoopbackCluster.StartAsync(2);
        var rings = await JoinAllAsync(cluster, "warm-up", timeout: TimeSpan.FromSeconds(30));
        await Task.WhenAll(rings.Select(ring => ring.AllReduceAsync(new float[1000])));
        await DisposeAllAsync(rings);
    });

    /// <summary>
    /// The first gRPC connection of the process pays for JIT and HTTP/2 setup (seconds on a loaded machine); tests that
    /// time failures with a 1 s ring timeout run after this so they measure the ring, not the warm-up.
    /// </summary>
    public static Task WarmUpAsync() => Warm.Value;

    /// <summary>Deterministic data per (rank, index) so the expected sum is easy to compute.</summary>
    public static float Value(int rank, int index) => ((index * 7 + rank * 13) % 101 - 50) / 25f;
}

/// <summary>Keeps every log line so a test can check what was (and was not) logged.</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Recorder(this);

    public void Dispose() { }

    private sealed class Recorder(RecordingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
    }
}
