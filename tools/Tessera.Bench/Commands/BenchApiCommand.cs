using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Bench;
using Tessera.Grains;
using Tessera.Silo;
using Tessera.Silo.Api;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>
/// `tessera-bench api`: the status endpoint under load while an experiment trains, in one run. Phases: a short
/// warm-up of the load, then quiet → load → quiet windows of equal length; the training throughput of the load
/// window is compared with the mean of the two quiet ones around it, so a drift of the training rate over time
/// does not pass for an effect of the load. With an embedded silo a last window repeats the load with the
/// training stopped, for the API's own CPU cost per request.
/// </summary>
public sealed class BenchApiCommand : AsyncCommand<BenchApiCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--spec <FILE>")]
        [Description("Experiment to train in an embedded silo while the load runs; the bench cancels it at the end (default examples/bench-api.yaml).")]
        [DefaultValue("examples/bench-api.yaml")]
        public string Spec { get; set; } = "examples/bench-api.yaml";

        [CommandOption("--url <URL>")]
        [Description("Load a running silo's API instead (e.g. http://127.0.0.1:5080/); needs --id of an experiment training there.")]
        public string? Url { get; set; }

        [CommandOption("--id <ID>")]
        [Description("With --url: the experiment whose status is requested and whose training rate is measured.")]
        public string? Id { get; set; }

        [CommandOption("--rate <N>")]
        [Description("Target requests per second (default 2000).")]
        [DefaultValue(2000)]
        public int Rate { get; set; } = 2000;

        [CommandOption("--connections <N>")]
        [Description("Keep-alive HTTP/1.1 connections, one request in flight on each (default 8).")]
        [DefaultValue(8)]
        public int Connections { get; set; } = 8;

        [CommandOption("--duration <SECONDS>")]
        [Description("Length of each window: quiet, load, quiet (default 15).")]
        [DefaultValue(15)]
        public int Duration { get; set; } = 15;

        [CommandOption("--warmup <SECONDS>")]
        [Description("Load before the measured windows, so JIT and connections settle (default 3).")]
        [DefaultValue(3)]
        public int Warmup { get; set; } = 3;

        [CommandOption("--torch-threads <N>")]
        [Description("Torch threads of the embedded silo's training (default: one per core). Every request costs CPU; on a machine whose cores all train, that CPU comes out of the training, so give the API a core with cores - 1.")]
        public int? TorchThreads { get; set; }

        /// <summary>The embedded silo's torch threads: the option, else one per core.</summary>
        public int EmbeddedTorchThreads => TorchThreads ?? Environment.ProcessorCount;

        [CommandOption("--runs <DIR>")]
        [Description("Artifact store of the embedded silo (default ./runs).")]
        [DefaultValue("runs")]
        public string Runs { get; set; } = "runs";

        [CommandOption("--json <FILE>")]
        [Description("Also write the results, machine and settings as JSON.")]
        public string? Json { get; set; }

        public override ValidationResult Validate()
        {
            if (TorchThreads is < 1) return ValidationResult.Error("--torch-threads must be >= 1");
            if (TorchThreads is not null && Url is not null) return ValidationResult.Error("--torch-threads sets the embedded silo; it does not go with --url");
            if (Rate < 1 || Connections < 1 || Duration < 1 || Warmup < 0)
                return ValidationResult.Error("--rate, --connections and --duration must be >= 1, --warmup >= 0");
            if ((Url is null) != (Id is null)) return ValidationResult.Error("--url and --id go together");
            if (Url is not null && !Uri.TryCreate(Url, UriKind.Absolute, out _)) return ValidationResult.Error($"--url '{Url}' is not an absolute URL");
            return ValidationResult.Success();
        }
    }

    /// <summary>Training images/s per window and how many whole progress intervals each rests on (0: no figure).</summary>
    public sealed record TrainingRates(double Before, double UnderLoad, double After, double DropPercent,
        int BeforeIntervals, int UnderLoadIntervals, int AfterIntervals)
    {
        public bool IsComplete => BeforeIntervals > 0 && UnderLoadIntervals > 0 && AfterIntervals > 0;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var interrupt = Interrupt.OnCtrlC(cancellationToken);
        string loadBefore = BenchMachine.LoadAverage();
        WebApplication? host = null;
        string id;
        Uri baseAddress;
        if (settings.Url is null)
        {
            if (!SpecFiles.TryLoad(settings.Spec, out var spec, out string yaml)) return ExitCodes.InvalidInput;
            Logging.Configure(settings.Runs, "bench");
            host = TesseraWebHost.Build(new TesseraSiloOptions
            {
                ArtifactRoot = settings.Runs, SiloPort = 0, GatewayPort = 0, HttpPort = 0,
                TorchThreads = settings.EmbeddedTorchThreads,
            });
            await host.StartAsync(interrupt.Token);
            baseAddress = new Uri(TesseraWebHost.DashboardUrl(host));
            id = SpecFiles.NewExperimentId(spec);
            await host.Services.GetRequiredService<IClusterClient>().GetGrain<IExperimentGrain>(id)
                .Submit(new ExperimentSubmission(yaml, settings.Spec, DateTimeOffset.UtcNow));
            AnsiConsole.MarkupLineInterpolated($"embedded silo at {baseAddress}, experiment [bold]{id}[/] ({settings.Spec})");
        }
        else (baseAddress, id) = (new Uri(settings.Url), settings.Id!);

        using var api = SiloApi.At(baseAddress);
        using var load = new ApiLoad(baseAddress, settings.Connections);
        string path = $"api/experiments/{Uri.EscapeDataString(id)}";
        try
        {
            AnsiConsole.MarkupLine("[grey]waiting for training to report twice (set-up done)...[/]");
            await WaitForTrainingAsync(api, id, interrupt.Token);
            var window = TimeSpan.FromSeconds(settings.Duration);
            if (settings.Warmup > 0)
            {
                AnsiConsole.MarkupLineInterpolated($"[grey]warm-up: {settings.Warmup} s of load[/]");
                await load.RunAsync(path, settings.Rate, TimeSpan.FromSeconds(settings.Warmup), interrupt.Token);
            }
            AnsiConsole.MarkupLineInterpolated($"[grey]quiet window: {settings.Duration} s[/]");
            var quiet1 = await QuietAsync(window, interrupt.Token);
            AnsiConsole.MarkupLineInterpolated($"[grey]load window: {settings.Rate} req/s on {settings.Connections} connections for {settings.Duration} s[/]");
            var loadStart = DateTimeOffset.UtcNow;
            LoadResult result = await load.RunAsync(path, settings.Rate, window, interrupt.Token);
            var loaded = (loadStart, DateTimeOffset.UtcNow);
            AnsiConsole.MarkupLineInterpolated($"[grey]quiet window: {settings.Duration} s[/]");
            var quiet2 = await QuietAsync(window, interrupt.Token);

            var points = (await api.GetAsync<MetricsPage>($"{path}/metrics?since=0", interrupt.Token)).Points;
            var detail = await api.GetAsync<ExperimentDetail>(path, interrupt.Token);
            var rates = Rates(points, quiet1, loaded, quiet2);
            LoadResult? alone = null;
            if (host is not null)
            {
                // The same load with the training stopped: its CPU per request (client and silo, this process) is the
                // API's own cost, a figure that holds on a busy machine where wall-clock rates measure the neighbours.
                AnsiConsole.MarkupLineInterpolated($"[grey]training stopped; load alone for {settings.Duration} s[/]");
                await CancelAndWaitAsync(host.Services.GetRequiredService<IClusterClient>(), id);
                var cpu = new CpuClock();
                alone = await load.RunAsync(path, settings.Rate, window, interrupt.Token);
                alone = alone with { CpuMsPerRequest = alone.Requests == 0 ? double.NaN : cpu.Lap() * 1e3 / alone.Requests };
            }
            Print(settings, result, alone, rates, loadBefore);
            if (settings.Json is not null) await WriteJsonAsync(settings, id, result, alone, rates, loadBefore, interrupt.Token);
            if (!rates.IsComplete || detail.State != ExperimentState.Running && points[^1].Time < quiet2.Item2)
            {
                AnsiConsole.MarkupLineInterpolated(
                    $"[red]incomplete training figures: a window holds no whole progress interval[/] (state {detail.State.ToString().ToLowerInvariant()}, {points.Count} reports): give a spec with more steps or a smaller log_every, or a longer --duration.");
                return ExitCodes.Failed;
            }
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        finally
        {
            if (host is not null)
            {
                await CancelAndWaitAsync(host.Services.GetRequiredService<IClusterClient>(), id);
                await host.StopAsync(CancellationToken.None);
                await host.DisposeAsync();
                await Log.CloseAndFlushAsync();
            }
        }
    }

    /// <summary>This process's CPU seconds (all threads) since the previous lap.</summary>
    sealed class CpuClock
    {
        TimeSpan _last = Process.GetCurrentProcess().TotalProcessorTime;

        public double Lap()
        {
            var now = Process.GetCurrentProcess().TotalProcessorTime;
            (double seconds, _last) = ((now - _last).TotalSeconds, now);
            return seconds;
        }
    }

    /// <summary>
    /// Cancels the bench's experiment and waits (30 s at most) until its worker thread has stopped, so the silo does
    /// not shut down under a worker that still reports. Rank 0 of a stage is trainer "{id}/{stage}/0".
    /// </summary>
    static async Task CancelAndWaitAsync(IClusterClient client, string id)
    {
        var experiment = client.GetGrain<IExperimentGrain>(id);
        string? stage = (await experiment.GetStatus()).CurrentStage;
        await experiment.Stop(StopRequest.Cancel);
        if (stage is null) return;
        var trainer = client.GetGrain<ITrainerGrain>($"{id}/{stage}/0");
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && await trainer.IsRunning();)
            await Task.Delay(100);
    }

    /// <summary>Waits until the experiment is running and has reported progress twice, so set-up is behind it.</summary>
    static async Task WaitForTrainingAsync(SiloApi api, string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var detail = await api.GetAsync<ExperimentDetail>($"api/experiments/{Uri.EscapeDataString(id)}", cancellationToken);
            if (detail.State is not (ExperimentState.Pending or ExperimentState.Running))
                throw new InvalidOperationException($"experiment {id} is {detail.State.ToString().ToLowerInvariant()}, not training: {detail.Error}");
            var page = await api.GetAsync<MetricsPage>($"api/experiments/{Uri.EscapeDataString(id)}/metrics?since=0", cancellationToken);
            if (detail.State == ExperimentState.Running && page.Points.Count >= 2) return;
            await Task.Delay(500, cancellationToken);
        }
    }

    static async Task<(DateTimeOffset, DateTimeOffset)> QuietAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        await Task.Delay(window, cancellationToken);
        return (start, DateTimeOffset.UtcNow);
    }

    static TrainingRates Rates(IReadOnlyList<MetricsPointDto> points, (DateTimeOffset, DateTimeOffset) quiet1,
        (DateTimeOffset, DateTimeOffset) loaded, (DateTimeOffset, DateTimeOffset) quiet2)
    {
        var before = TrainingThroughput.Over(points, quiet1.Item1, quiet1.Item2);
        var under = TrainingThroughput.Over(points, loaded.Item1, loaded.Item2);
        var after = TrainingThroughput.Over(points, quiet2.Item1, quiet2.Item2);
        double baseline = (before.ImagesPerSecond + after.ImagesPerSecond) / 2;
        return new TrainingRates(before.ImagesPerSecond, under.ImagesPerSecond, after.ImagesPerSecond,
            100 * (1 - under.ImagesPerSecond / baseline), before.Intervals, under.Intervals, after.Intervals);
    }

    static void Print(Settings settings, LoadResult load, LoadResult? alone, TrainingRates rates, string loadBefore)
    {
        var table = new Table().AddColumns("load", "req/s (target)", "errors", "p50", "p99", "max", "cpu/request");
        foreach (var (name, row) in new[] { ("while training", load), ("alone", alone) })
            if (row is not null)
                table.AddRow(name, $"{row.AchievedPerSecond:0} ({settings.Rate})", $"{row.Errors}", $"{row.P50Ms:0.00} ms", $"{row.P99Ms:0.00} ms",
                    $"{row.MaxMs:0.0} ms", double.IsNaN(row.CpuMsPerRequest) ? "–" : $"{row.CpuMsPerRequest * 1e3:0} µs");
        AnsiConsole.Write(table);
        var training = new Table().AddColumns("training images/s (reports): before", "under load", "after", "drop");
        training.AddRow($"{rates.Before:0} ({rates.BeforeIntervals})", $"{rates.UnderLoad:0} ({rates.UnderLoadIntervals})",
            $"{rates.After:0} ({rates.AfterIntervals})", $"{rates.DropPercent:0.0}%");
        AnsiConsole.Write(training);
        AnsiConsole.MarkupLineInterpolated(
            $"{BenchMachine.Cores} cores, load average before: {loadBefore}, after: {BenchMachine.LoadAverage()}; {settings.Connections} connections, {settings.Duration} s windows{(settings.Url is null ? $", {settings.EmbeddedTorchThreads} torch threads" : "")}");
    }

    static async Task WriteJsonAsync(Settings settings, string id, LoadResult load, LoadResult? alone, TrainingRates rates, string loadBefore,
        CancellationToken cancellationToken)
    {
        var report = new
        {
            Machine = new
            {
                BenchMachine.Cores, BenchMachine.MemoryBytes, BenchMachine.Os, BenchMachine.Architecture, BenchMachine.Dotnet,
                LoadAverageBefore = loadBefore, LoadAverageAfter = BenchMachine.LoadAverage(),
            },
            Settings = new
            {
                Target = settings.Url ?? "embedded silo", Experiment = id, Spec = settings.Url is null ? settings.Spec : null,
                Endpoint = "GET /api/experiments/{id}", TargetPerSecond = settings.Rate, settings.Connections,
                WindowSeconds = settings.Duration, WarmupSeconds = settings.Warmup, Protocol = "HTTP/1.1 keep-alive",
                TorchThreads = settings.Url is null ? settings.EmbeddedTorchThreads : (int?)null,
            },
            LoadWhileTraining = load,
            LoadAlone = alone,
            TrainingImagesPerSecond = rates,
            Utc = DateTime.UtcNow,
        };
        var options = new JsonSerializerOptions(ApiJson.Options) { WriteIndented = true };
        await File.WriteAllTextAsync(settings.Json!, JsonSerializer.Serialize(report, options), cancellationToken);
        AnsiConsole.MarkupLineInterpolated($"wrote {settings.Json}");
    }
}
