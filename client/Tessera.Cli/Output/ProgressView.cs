using System.Diagnostics;
using Spectre.Console;
using Tessera.Grains;

namespace Tessera.Cli.Output;

/// <summary>
/// Follows an experiment until it finishes: a live progress bar per stage on a terminal, plain periodic
/// lines when the output is a file or a pipe (CI logs stay readable). Polls ride out a silo dying
/// (<see cref="UnreachableRetry"/>), saying so.
/// </summary>
public static class ProgressView
{
    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    static readonly TimeSpan PlainLineInterval = TimeSpan.FromSeconds(10);

    public static Task<ExperimentStatus> FollowAsync(IExperimentGrain experiment, CancellationToken cancellationToken) =>
        AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected
            ? FollowLiveAsync(experiment, cancellationToken)
            : FollowPlainAsync(experiment, cancellationToken);

    static Task<ExperimentStatus> Poll(IExperimentGrain experiment, Action<string> say, CancellationToken cancellationToken) =>
        UnreachableRetry.Default.RunAsync(experiment.GetStatus, say, cancellationToken);

    static void SayPlain(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    static async Task<ExperimentStatus> FollowLiveAsync(IExperimentGrain experiment, CancellationToken cancellationToken)
    {
        ExperimentStatus status = await Poll(experiment, message => AnsiConsole.MarkupLineInterpolated($"[yellow]{message}[/]"), cancellationToken);
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(),
                new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                ProgressTask StageTask(string stage) =>
                    tasks.TryGetValue(stage, out var task) ? task : tasks[stage] = progress.AddTask(stage, maxValue: 1);
                while (true)
                {
                    foreach (var done in status.Completed)
                        if (tasks.TryGetValue(done.Stage, out var finished)) finished.Value = finished.MaxValue;
                    if (status.Progress is { } p)
                    {
                        var task = StageTask(p.Stage);
                        task.IsIndeterminate = false;
                        task.MaxValue = p.TotalSteps;
                        task.Value = p.Step;
                        task.Description = Markup.Escape(Describe(p));
                    }
                    else if (status.CurrentStage is { } stage)
                    {
                        // Before the first report: loading data and building the model.
                        StageTask(stage).IsIndeterminate(true).Description = Markup.Escape($"{stage}  preparing data and model");
                    }
                    if (status.IsFinished) break;
                    await Task.Delay(PollInterval, cancellationToken);
                    status = await Poll(experiment, message => AnsiConsole.MarkupLineInterpolated($"[yellow]{message}[/]"), cancellationToken);
                }
            });
        return status;
    }

    static async Task<ExperimentStatus> FollowPlainAsync(IExperimentGrain experiment, CancellationToken cancellationToken)
    {
        var sinceLine = Stopwatch.StartNew();
        var eta = new EtaEstimator();
        StageProgress? printed = null;
        while (true)
        {
            ExperimentStatus status = await Poll(experiment, SayPlain, cancellationToken);
            if (status.Progress is { } p && p != printed)
            {
                TimeSpan? remaining = eta.Update(p);
                bool stageChanged = p.Stage != printed?.Stage, last = p.Step == p.TotalSteps;
                if (stageChanged || last || sinceLine.Elapsed >= PlainLineInterval)
                {
                    string etaText = remaining is { } r && !last ? $"  ETA {r:m\\:ss}" : "";
                    Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {Describe(p)}  {100.0 * p.Step / p.TotalSteps,5:F1}%{etaText}");
                    sinceLine.Restart();
                    printed = p;
                }
            }
            if (status.IsFinished) return status;
            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    static string Describe(StageProgress p)
    {
        // Tokenizer stages report how much of the codebook each batch uses: a collapsing codebook shows early.
        string usage = p.Metrics.TryGetValue("batch_codebook_usage", out double u) ? $"  codes used {u:P0}" : "";
        return $"{p.Stage}  step {p.Step}/{p.TotalSteps}  loss {p.Loss:F4}  {p.ImagesPerSecond:F0} img/s{usage}";
    }

    /// <summary>Remaining time from the step rate seen since the stage's first report.</summary>
    sealed class EtaEstimator
    {
        string? _stage;
        int _firstStep;
        readonly Stopwatch _clock = new();

        public TimeSpan? Update(StageProgress p)
        {
            if (p.Stage != _stage) { _stage = p.Stage; _firstStep = p.Step; _clock.Restart(); return null; }
            double rate = (p.Step - _firstStep) / _clock.Elapsed.TotalSeconds;
            return rate > 0 ? TimeSpan.FromSeconds((p.TotalSteps - p.Step) / rate) : null;
        }
    }
}
