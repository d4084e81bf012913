using System.Diagnostics;
using System.Net;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench;

/// <summary>
/// What one load window achieved: requests completed, failures, latencies in milliseconds, and (when the caller
/// measures it) this process's CPU time per request.
/// </summary>
public sealed record LoadResult(double Seconds, int Requests, int Errors, double AchievedPerSecond,
    double P50Ms, double P99Ms, double MaxMs, double MeanMs, double CpuMsPerRequest = double.NaN);

/// <summary>
/// Open-loop HTTP/1.1 load on one path: <c>connections</c> keep-alive connections, each sending on its own fixed
/// schedule (rate / connections per second, staggered), one request at a time. A connection that falls behind
/// sends at once until it has caught up, so the offered rate holds as long as the server keeps up. Latency is
/// measured per request from send to the last byte of the answer.
/// </summary>
public sealed class ApiLoad : IDisposable
{
    readonly HttpClient[] _clients;

    public ApiLoad(Uri baseAddress, int connections)
    {
        _clients = Enumerable.Range(0, connections).Select(_ => new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1, UseCookies = false, AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
        })
        {
            BaseAddress = baseAddress, DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(10),
        }).ToArray();
    }

    public async Task<LoadResult> RunAsync(string path, double ratePerSecond, TimeSpan duration, CancellationToken cancellationToken)
    {
        double period = _clients.Length / ratePerSecond;
        long start = Stopwatch.GetTimestamp();
        var perConnection = await Task.WhenAll(_clients.Select((client, i) =>
            Task.Run(() => SendAsync(client, path, start, period, offset: period * i / _clients.Length, duration.TotalSeconds, cancellationToken))));
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        var latencies = perConnection.SelectMany(c => c.Latencies).Order().ToArray();
        int errors = perConnection.Sum(c => c.Errors);
        if (latencies.Length == 0) return new LoadResult(seconds, 0, errors, 0, double.NaN, double.NaN, double.NaN, double.NaN);
        return new LoadResult(seconds, latencies.Length, errors, latencies.Length / seconds,
            Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1], latencies.Average());
    }

    static async Task<(List<double> Latencies, int Errors)> SendAsync(HttpClient client, string path, long start, double period,
        double offset, double duration, CancellationToken cancellationToken)
    {
        var latencies = new List<double>((int)(duration / period) + 16);
        int errors = 0;
        for (long k = 0; ; k++)
        {
            double due = offset + k * period;
            if (due >= duration) break;
            double wait = due - Stopwatch.GetElapsedTime(start).TotalSeconds;
            // Timers tick in milliseconds: shorter waits are sent now and absorbed by the schedule.
            if (wait >= 0.001) await Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken);
            long sent = Stopwatch.GetTimestamp();
            try
            {
                using var response = await client.GetAsync(path, HttpCompletionOption.ResponseContentRead, cancellationToken);
                if (response.StatusCode != HttpStatusCode.OK) errors++;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                errors++;
                continue;
            }
            latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
        }
        return (latencies, errors);
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    public void Dispose()
    {
        foreach (var client in _clients) client.Dispose();
    }
}
