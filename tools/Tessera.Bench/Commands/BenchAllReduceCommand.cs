using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Collective;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>
/// `tessera-bench allreduce`: N ranks in this process, each with its own Kestrel host on 127.0.0.1, all-reducing
/// over real gRPC; reported next to a plain loopback socket copy measured in the same run, so the figures say how
/// much of what this machine's loopback can carry the ring achieves.
/// </summary>
public sealed class BenchAllReduceCommand : AsyncCommand<BenchAllReduceCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--workers <LIST>")]
        [Description("World sizes to run, comma separated (default 2,4).")]
        [DefaultValue("2,4")]
        public string Workers { get; set; } = "2,4";

        [CommandOption("--sizes <LIST>")]
        [Description("Buffer sizes per rank (fp32 bytes), comma separated, with KB/MB/GB suffixes (default 1MB,16MB,64MB).")]
        [DefaultValue("1MB,16MB,64MB")]
        public string Sizes { get; set; } = "1MB,16MB,64MB";

        [CommandOption("--iterations <N>")]
        [Description("Timed all-reduces per (workers, size), after the warm-up (default 5).")]
        [DefaultValue(5)]
        public int Iterations { get; set; } = 5;

        [CommandOption("--warmup <N>")]
        [Description("Untimed all-reduces per (workers, size) first, so JIT tiering and pools settle (default 3).")]
        [DefaultValue(3)]
        public int Warmup { get; set; } = 3;

        [CommandOption("--chunk <SIZE>")]
        [Description("Chunk (frame payload) size, e.g. 512KB (default: the library default).")]
        public string? Chunk { get; set; }

        [CommandOption("--compression <KIND>")]
        [Description("none, bf16 or fp16 (default none).")]
        [DefaultValue("none")]
        public string Compression { get; set; } = "none";

        [CommandOption("--window <SIZE>")]
        [Description("HTTP/2 stream receive window, e.g. 16MB (default 16MB).")]
        [DefaultValue("16MB")]
        public string Window { get; set; } = "16MB";

        [CommandOption("--json <FILE>")]
        [Description("Also write the results, machine info and settings as JSON.")]
        public string? Json { get; set; }

        public override ValidationResult Validate()
        {
            try
            {
                if (BenchEnvironment.ParseList(Workers, s => int.Parse(s, CultureInfo.InvariantCulture)).Any(n => n < 1)) return ValidationResult.Error("--workers must be >= 1");
                if (BenchEnvironment.ParseList(Sizes, ParseBytes).Any(b => b < 4)) return ValidationResult.Error("--sizes must be at least 4 bytes");
                ParseCompression(Compression);
                ParseBytes(Window);
                if (Chunk is not null) ParseBytes(Chunk);
            }
            catch (FormatException e) { return ValidationResult.Error(e.Message); }
            return Iterations < 1 ? ValidationResult.Error("--iterations must be >= 1") : ValidationResult.Success();
        }
    }

    private sealed record Row(int Workers, long Bytes, double MedianSeconds, double BestSeconds, double AlgGBps, double BusGBps, double BusOfRawPercent,
        double CpuSecondsPerOp, int Gen2Collections, double GcPauseMsPerOp);

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var workers = BenchEnvironment.ParseList(settings.Workers, s => int.Parse(s, CultureInfo.InvariantCulture));
        var sizes = BenchEnvironment.ParseList(settings.Sizes, ParseBytes);
        int window = (int)ParseBytes(settings.Window);
        var options = new CollectiveOptions { Compression = ParseCompression(settings.Compression), Http2WindowBytes = window };
        if (settings.Chunk is not null) options = options with { ChunkBytes = (int)ParseBytes(settings.Chunk) };
        string loadBefore = BenchEnvironment.LoadAverage();

        AnsiConsole.MarkupLine("[grey]measuring raw loopback TCP...[/]");
        double rawGBps = await RawLoopbackGBpsAsync(cancellationToken);
        var rows = new List<Row>();
        foreach (int n in workers)
        {
            await using var cluster = await LoopbackCluster.StartAsync(n, window);
            string secret = Guid.NewGuid().ToString("N");
            var rings = await Task.WhenAll(Enumerable.Range(0, n).Select(r =>
                cluster.Hub(r).JoinAsync(cluster.Group(r, "bench", secret, timeout: TimeSpan.FromSeconds(60)), options, cancellationToken)));
            try
            {
                foreach (long bytes in sizes)
                {
                    AnsiConsole.MarkupLine($"[grey]N={n} size={FormatBytes(bytes)}...[/]");
                    var buffers = Enumerable.Range(0, n).Select(r => new float[bytes / sizeof(float)]).ToArray();
                    foreach (var (buffer, r) in buffers.Select((b, r) => (b, r))) Array.Fill(buffer, r + 1f);
                    var times = new List<double>();
                    TimeSpan cpuStart = TimeSpan.Zero, pauseStart = TimeSpan.Zero;
                    int gen2Start = 0;
                    int warmup = Math.Max(0, settings.Warmup);
                    for (int i = 0; i < warmup + settings.Iterations; i++)
                    {
                        if (i == warmup) (cpuStart, pauseStart, gen2Start) = (Process.GetCurrentProcess().TotalProcessorTime, GC.GetTotalPauseDuration(), GC.CollectionCount(2));
                        var clock = Stopwatch.StartNew();
                        await Task.WhenAll(rings.Select((ring, r) => ring.AllReduceAsync(buffers[r], ReduceOp.Average, cancellationToken)));
                        if (i >= warmup) times.Add(clock.Elapsed.TotalSeconds);
                    }
                    times.Sort();
                    double median = times[times.Count / 2];
                    double alg = n == 1 ? 0 : bytes / median / 1e9;
                    double bus = alg * 2 * (n - 1) / n;
                    // CPU per operation is the figure that survives a busy machine: wall time there mostly measures the neighbours.
                    double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds / settings.Iterations;
                    double pause = (GC.GetTotalPauseDuration() - pauseStart).TotalMilliseconds / settings.Iterations;
                    rows.Add(new Row(n, bytes, median, times[0], alg, bus, rawGBps > 0 ? 100 * bus / rawGBps : 0, cpu, GC.CollectionCount(2) - gen2Start, pause));
                }
            }
            finally { foreach (var ring in rings) await ring.DisposeAsync(); }
        }

        var table = new Table().AddColumns("N", "size", "median", "best", "alg GB/s", "bus GB/s", "bus/raw", "cpu/op", "gen2", "gc/op");
        foreach (var row in rows)
            table.AddRow(row.Workers.ToString(), FormatBytes(row.Bytes), $"{row.MedianSeconds * 1e3:0}ms", $"{row.BestSeconds * 1e3:0}ms",
                $"{row.AlgGBps:0.000}", $"{row.BusGBps:0.000}", $"{row.BusOfRawPercent:0}%", $"{row.CpuSecondsPerOp * 1e3:0}ms",
                row.Gen2Collections.ToString(), $"{row.GcPauseMsPerOp:0.0}ms");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"raw loopback TCP (one socket, 1 MB writes): [bold]{rawGBps:0.000} GB/s[/]; load average before: {loadBefore}, after: {BenchEnvironment.LoadAverage()}");

        if (settings.Json is not null)
        {
            var machine = BenchEnvironment.Machine(loadBefore, new Dictionary<string, string>
            {
                ["Grpc.Net.Client"] = BenchEnvironment.VersionOf(typeof(Grpc.Net.Client.GrpcChannel).Assembly),
                ["Grpc.AspNetCore.Server"] = BenchEnvironment.VersionOf(typeof(Grpc.AspNetCore.Server.GrpcServiceOptions).Assembly),
                ["Google.Protobuf"] = BenchEnvironment.VersionOf(typeof(Google.Protobuf.ByteString).Assembly),
                ["Tessera.Collective"] = BenchEnvironment.VersionOf(typeof(RingCommunicator).Assembly),
            });
            var benchSettings = new
            {
                settings.Workers, settings.Sizes, settings.Iterations, settings.Warmup, chunkBytes = options.ChunkBytes, sendAheadFrames = options.SendAheadFrames,
                compression = options.Compression.ToString(), http2WindowBytes = window, reduce = "average", transport = "gRPC over 127.0.0.1, one Kestrel host per rank",
            };
            await BenchEnvironment.WriteReportAsync(settings.Json, "allreduce", machine, benchSettings, new { rawLoopbackGBps = rawGBps, rows }, cancellationToken);
        }
        return ExitCodes.Success;
    }

    /// <summary>The ceiling to compare with: one TCP connection on 127.0.0.1 copying 1 MB writes, best of three ~0.5 s runs.</summary>
    private static async Task<double> RawLoopbackGBpsAsync(CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, cancellationToken);
        using var server = await listener.AcceptTcpClientAsync(cancellationToken);
        var send = client.GetStream();
        var receive = server.GetStream();
        var outgoing = new byte[1 << 20];
        var incoming = new byte[1 << 20];
        double best = 0;
        for (int run = 0; run < 4; run++)
        {
            long total = 512L << 20;
            var clock = Stopwatch.StartNew();
            var writer = Task.Run(async () =>
            {
                for (long sent = 0; sent < total; sent += outgoing.Length) await send.WriteAsync(outgoing, cancellationToken);
            }, cancellationToken);
            long received = 0;
            while (received < total)
            {
                int read = await receive.ReadAsync(incoming, cancellationToken);
                if (read == 0) throw new IOException("loopback socket closed early");
                received += read;
            }
            await writer;
            if (run > 0) best = Math.Max(best, total / clock.Elapsed.TotalSeconds / 1e9); // run 0 warms up
        }
        return best;
    }


    internal static WireCompression ParseCompression(string text) => text.ToLowerInvariant() switch
    {
        "none" => WireCompression.None,
        "bf16" => WireCompression.BFloat16,
        "fp16" => WireCompression.Float16,
        _ => throw new FormatException($"unknown compression '{text}' (none, bf16, fp16)"),
    };

    internal static long ParseBytes(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        (string digits, long unit) = t.EndsWith("GB") ? (t[..^2], 1L << 30) : t.EndsWith("MB") ? (t[..^2], 1L << 20)
            : t.EndsWith("KB") ? (t[..^2], 1L << 10) : t.EndsWith('B') ? (t[..^1], 1L) : (t, 1L);
        if (!double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
            throw new FormatException($"not a size: '{text}' (e.g. 64MB)");
        return (long)(value * unit) / sizeof(float) * sizeof(float);
    }

    private static string FormatBytes(long bytes) =>
        bytes >= 1L << 20 ? $"{bytes / (double)(1L << 20):0.#} MB" : bytes >= 1024 ? $"{bytes / 1024.0:0.#} KB" : $"{bytes} B";
}
