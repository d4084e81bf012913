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
