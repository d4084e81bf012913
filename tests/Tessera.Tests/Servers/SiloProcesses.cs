using Tessera.Silo;
using System.Diagnostics;

namespace Tessera.Tests.Servers;

/// <summary>
/// Real `tessera silo` processes of one cluster on the test Redis and Azurite, each with its own loopback ports and
/// one slot: for tests of what only separate processes show (a SIGKILLed silo, ranks talking across processes).
/// </summary>
public sealed class SiloProcesses : IAsyncDisposable
{
    readonly string _root = Path.Combine(Path.GetTempPath(), $"tessera-procs-{Guid.NewGuid():N}");
    readonly Dictionary<int, Process> _silos = [];
    readonly Dictionary<int, int> _siloPorts = [];

    public SiloProcesses(string redis, string clusterId, string container)
    {
        Redis = redis;
        ClusterId = clusterId;
        Container = container;
    }

    public string Redis { get; }
    public string ClusterId { get; }
    public string Container { get; }

    /// <summary>Starts silo <paramref name="n"/> and waits (2 minutes at most) until it says it is up.</summary>
    public async Task StartAsync(int n)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "tessera"))
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        _siloPorts[n] = FreePorts.Next();
        foreach (string arg in new[] { "silo", "--runs", Path.Combine(_root, $"silo-{n}"), "--slots", "1",
                     "--port", $"{_siloPorts[n]}", "--gateway", $"{FreePorts.Next()}", "--http", $"{FreePorts.Next()}", "--collective", $"{FreePorts.Next()}" })
            start.ArgumentList.Add(arg);
        start.Environment["TESSERA_REDIS"] = Redis;
        start.Environment["TESSERA_BLOB"] = TestServers.Blob;
        start.Environment["TESSERA_BLOB_CONTAINER"] = Container;
        start.Environment["TESSERA_CLUSTER_ID"] = ClusterId;
        start.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start tessera silo");
        _silos[n] = process;

        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Line(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            output.Enqueue(e.Data);
            if (e.Data.Contains("silo up")) up.TrySetResult();
            if (e.Data.Contains("failed to start")) up.TrySetException(new InvalidOperationException($"silo {n}: {e.Data}"));
        }
        process.OutputDataReceived += Line;
        process.ErrorDataReceived += Line;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(up.Task, exited, Task.Delay(TimeSpan.FromMinutes(2)));
        if (first != up.Task || up.Task.IsFaulted)
            throw new InvalidOperationException($"silo {n} did not come up: {string.Join(" / ", output.TakeLast(10))}");
    }

    /// <summary>Which silo process has the silo address <paramref name="siloAddress"/> ("127.0.0.1:PORT@GENERATION").</summary>
    public int NumberOf(string siloAddress)
    {
        int port = int.Parse(siloAddress.Split('@')[0].Split(':')[^1]);
        return _siloPorts.Single(p => p.Value == port).Key;
    }

    /// <summary>SIGKILL: the process ends at once, as when its node dies; nothing is handed over.</summary>
    public void Kill(int n)
    {
        _silos[n].Kill();
        _silos[n].WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        // Stopping gracefully would only slow the test down: the cluster and its data are thrown away.
        foreach (var process in _silos.Values)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

}
