using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Infra.Specs;
using Tessera.Trainers;
using Tessera.Bench.Workloads;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>
/// `tessera-bench step`: milliseconds per training step of a reference workload or a spec's stage, per libtorch thread
/// count. libtorch takes its thread count once per process, so each count runs in a child process (this command
/// again, with a hidden option) that writes its result as JSON; the parent prints one table.
/// </summary>
public sealed class BenchStepCommand : AsyncCommand<BenchStepCommand.Settings>
{
    public sealed class Settings : StepTimingSettings
    {
        [CommandOption("--workload <WORKLOAD>")]
        [Description("ref-gpt, ref-vq, or a spec file with an optional stage: spec.yaml[[:stage]] (default: its first stage that trains).")]
        public string Workload { get; set; } = "";

        [CommandOption("--threads <LIST>")]
        [Description("libtorch thread counts, comma separated; each runs in its own process (default 1,2).")]
        [DefaultValue("1,2")]
        public string Threads { get; set; } = "1,2";

        [CommandOption("--leak-steps <N>")]
        [Description("Also compare live tensors and RSS at step 100 with step N, e.g. 1000 (default 0: no leak check).")]
        [DefaultValue(0)]
        public int LeakSteps { get; set; }

        /// <summary>Set by the parent for a child: run one thread count in this process and write its result here.</summary>
        [CommandOption("--child-out <FILE>", IsHidden = true)]
        public string? ChildOut { get; set; }

        public StepBenchmarkOptions Options => new(Warmup, Steps, LeakSteps);

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Workload)) return ValidationResult.Error("--workload is required (ref-gpt, ref-vq or spec.yaml[:stage])");
            try
            {
                if (ThreadCounts().Any(n => n < 1)) return ValidationResult.Error("--threads must be >= 1");
                Options.Validate();
            }
            catch (Exception e) when (e is FormatException or ArgumentException) { return ValidationResult.Error(e.Message); }
            return ValidationResult.Success();
        }

        public List<int> ThreadCounts() => BenchEnvironment.ParseList(Threads, s => int.Parse(s, CultureInfo.InvariantCulture));
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.ChildOut is not null) return RunHere(settings);

        string loadBefore = BenchEnvironment.LoadAverage();
        var results = new List<StepResult>();
        foreach (int threads in settings.ThreadCounts())
        {
            string output = Path.GetTempFileName();
            try
            {
                AnsiConsole.MarkupLineInterpolated($"[grey]{settings.Workload}, {threads} thread(s): {settings.Options.TotalSteps} steps in a child process...[/]");
                int exit = await RunChildAsync(settings, threads, output, cancellationToken);
                if (exit != ExitCodes.Success)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the run with {threads} thread(s) failed (exit code {exit})");
                    return exit == ExitCodes.InvalidInput ? exit : ExitCodes.Failed;
                }
                results.Add(JsonSerializer.Deserialize<StepResult>(await File.ReadAllTextAsync(output, cancellationToken), BenchEnvironment.Json)
                    ?? throw new InvalidDataException($"empty result from the run with {threads} thread(s)"));
            }
            finally { File.Delete(output); }
        }

        Print(results);
        AnsiConsole.MarkupLineInterpolated($"load average before: {loadBefore}, after: {BenchEnvironment.LoadAverage()}");
        if (settings.Json is not null)
        {
            var benchSettings = new
            {
                workload = settings.Workload, threads = settings.ThreadCounts(), steps = settings.Steps, warmup = settings.Warmup,
                leakSteps = settings.LeakSteps, device = settings.Device, seed = settings.Seed,
                timing = "wall time between the starts of consecutive steps (forward, backward, optimizer), after the warm-up",
            };
            await BenchEnvironment.WriteReportAsync(settings.Json, "step", BenchEnvironment.Machine(loadBefore, BenchEnvironment.TorchLibraries()),
                benchSettings, results, cancellationToken);
        }
        return ExitCodes.Success;
    }

    /// <summary>The child's work: one thread count, this process, result as JSON to --child-out.</summary>
    private static int RunHere(Settings settings)
    {
        int threads = settings.ThreadCounts().Single();
        TorchRuntime.Initialize(threads);
        StepResult result;
        try
        {
            var device = TorchRuntime.ResolveDevice(settings.Device);
            using var workload = BenchSpecs.StepWorkload(settings.Workload, device, settings.Seed, settings.Options.TotalSteps);
            result = StepBenchmark.Run(workload, settings.Options);
        }
        catch (Exception e) when (e is ArgumentException or SpecException or InvalidOperationException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
        File.WriteAllText(settings.ChildOut!, JsonSerializer.Serialize(result, BenchEnvironment.Json));
        return ExitCodes.Success;
    }

    private static Task<int> RunChildAsync(Settings settings, int threads, string output, CancellationToken ct) =>
        BenchEnvironment.RunSelfAsync(
        [
            "step", "--workload", settings.Workload, "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--steps", settings.Steps.ToString(CultureInfo.InvariantCulture), "--warmup", settings.Warmup.ToString(CultureInfo.InvariantCulture),
            "--leak-steps", settings.LeakSteps.ToString(CultureInfo.InvariantCulture), "--device", settings.Device,
            "--seed", settings.Seed.ToString(CultureInfo.InvariantCulture), "--child-out", output,
        ], ct);

    private static void Print(IReadOnlyList<StepResult> results)
    {
        var table = new Table().AddColumns("workload", "threads", "params", "batch", "median ms", "p10-p90 ms", "cpu ms", "tensors", "examples/s", "peak RSS", "managed/step");
        foreach (var r in results)
            table.AddRow(Markup.Escape(r.Workload), $"{r.Threads}", $"{r.Parameters / 1e6:0.000}M", $"{r.BatchSize}", $"{r.MedianMs:0.0}",
                $"{r.P10Ms:0}-{r.P90Ms:0}", $"{r.CpuMsPerStep:0.0}", $"{r.TensorsPerStep:0}", $"{r.ExamplesPerSecond:0}", $"{r.PeakRssBytes / 1048576.0:0} MB", $"{r.ManagedBytesPerStep / 1024:0.0} KB");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[grey]median, p10 and p90 of {results[0].TimedSteps} steps after {results[0].WarmupSteps} warm-up steps; cpu: process CPU time per step (all threads); tensors: handles created per step; managed: .NET bytes allocated per step[/]");

        var leaks = results.Where(r => r.Leak is not null).ToList();
        if (leaks.Count == 0) return;
        var leakTable = new Table().AddColumns("workload", "threads", "steps", "live tensors", "RSS", "RSS peak rise", "managed heap", "verdict");
        foreach (var r in leaks)
        {
            var l = r.Leak!;
            leakTable.AddRow(Markup.Escape(r.Workload), $"{r.Threads}", $"{l.FromStep} -> {l.ToStep}", $"{l.LiveTensorsFrom} -> {l.LiveTensorsTo}",
                $"{l.RssBytesFrom / 1048576.0:0.0} -> {l.RssBytesTo / 1048576.0:0.0} MB ({l.RssGrowthPercent:+0.00;-0.00}%)", $"{l.RssPeakRisePercent:+0.00;-0.00}%",
                $"{l.ManagedHeapBytesFrom / 1048576.0:0.0} -> {l.ManagedHeapBytesTo / 1048576.0:0.0} MB", l.Grows ? "[red]grows[/]" : "[green]no growth[/]");
        }
        AnsiConsole.Write(leakTable);
        AnsiConsole.MarkupLine($"[grey]grows: more live tensors at the end, or an RSS peak in the second half more than {LeakCheck.RssTolerancePercent}% above " +
            "the first half's (RSS sampled every 100 steps; a leak keeps setting new highs, allocator pools settle)[/]");
    }
}
