using System.Globalization;
using Spectre.Console;
using Tessera.Grains;

namespace Tessera.Cli.Output;

/// <summary>Prints an experiment's state and each finished stage's metrics as a table.</summary>
public static class StatusPrinter
{
    public static void Print(ExperimentStatus status, string? runsDirectory = null)
    {
        string color = status.State switch
        {
            ExperimentState.Succeeded => "green", ExperimentState.Failed => "red", ExperimentState.Cancelled or ExperimentState.Interrupted => "yellow", _ => "blue",
        };
        AnsiConsole.MarkupLineInterpolated($"[bold]{status.Id}[/]  [{color}]{status.State.ToString().ToLowerInvariant()}[/]  ({status.Completed.Count}/{status.TotalStages} stages)");
        if (status.CurrentStage is { } stage && status.Progress is { } p)
            AnsiConsole.MarkupLineInterpolated($"  running [bold]{stage}[/]: step {p.Step}/{p.TotalSteps}, loss {p.Loss:F4}, {p.ImagesPerSecond:F0} img/s");
        if (status.Error is { } error)
            AnsiConsole.MarkupLineInterpolated($"  [red]error:[/] {error}");
        if (status.StartedAt is { } start)
        {
            TimeSpan wall = (status.FinishedAt ?? DateTimeOffset.UtcNow) - start;
            AnsiConsole.MarkupLineInterpolated($"  wall time {wall.TotalSeconds:F1} s");
        }

        foreach (var result in status.Completed)
        {
            var table = new Table().Title($"stage {result.Stage} ({result.WallSeconds:F1} s)").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            foreach (var (key, value) in result.Metrics)
                table.AddRow(key, value.ToString(Math.Abs(value) >= 100 || value == Math.Floor(value) ? "0.##" : "0.####", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
        }
        if (runsDirectory is not null && status.Completed.Count > 0)
        {
            string folder = Path.Combine(runsDirectory, status.Id);
            var files = status.Completed.SelectMany(r => r.Artifacts).Select(a => Path.GetRelativePath(status.Id, a.Path))
                .Concat(["metrics.jsonl", "summary.json", "spec.yaml"]);
            AnsiConsole.MarkupLineInterpolated($"artifacts in [bold]{folder}/[/]: {string.Join(", ", files)}");
        }
    }
}
