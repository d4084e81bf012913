using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Spectre.Console;
using Tessera.Cli.Output;
using Tessera.Grains;
using Tessera.Silo;

namespace Tessera.Cli;

/// <summary>
/// The embedded mode shared by `tessera run` and `tessera resume`: a silo in this process over a runs directory,
/// one experiment started on it, followed to the end. Ctrl+C stops the experiment after its running stage writes a
/// checkpoint at its next step (<see cref="GracefulStop"/>), so `tessera resume` continues exactly there.
/// </summary>
public static class EmbeddedRun
{
    public static async Task<int> RunAsync(string runs, string logName, Func<IClusterClient, Task<IExperimentGrain>> start,
        CancellationToken cancellationToken)
    {
        using var runsLock = RunsDirectoryLock.TryAcquire(runs, out string heldBy);
        if (runsLock is null)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[red]error:[/] runs directory '{Path.GetFullPath(runs)}' is in use by another embedded tessera run ({heldBy}); wait for it to finish, or pass --runs <another directory>");
            return ExitCodes.Unavailable;
        }
        string logFile = Logging.Configure(runs, logName);
        using var interrupt = Interrupt.OnCtrlC(cancellationToken);
        using IHost host = TesseraWebHost.Build(new TesseraSiloOptions
        {
            ArtifactRoot = runs, SiloPort = 0, GatewayPort = 0, HttpPortFallback = true,
        });
        await host.StartAsync(interrupt.Token);
        AnsiConsole.MarkupLineInterpolated($"dashboard: [link]{TesseraWebHost.DashboardUrl(host)}[/]  log: {logFile}");
        try
        {
            IExperimentGrain experiment = await start(host.Services.GetRequiredService<IClusterClient>());
            ExperimentStatus status;
            try { status = await ProgressView.FollowAsync(experiment, interrupt.Token); }
            catch (OperationCanceledException)
            {
                // A second Ctrl+C is not caught (see Interrupt): it ends the process, and the experiment shows as interrupted.
                AnsiConsole.MarkupLine("[yellow]interrupted: the running stage checkpoints at its next step, then the experiment stops (Ctrl+C again to quit at once)[/]");
                var stopped = await GracefulStop.StopAsync(experiment);
                AnsiConsole.MarkupLineInterpolated($"[yellow]{stopped.State.ToString().ToLowerInvariant()}: {stopped.Error ?? ""}[/]");
                string id = experiment.GetPrimaryKeyString();
                AnsiConsole.MarkupLineInterpolated($"continue it with: tessera resume {id}{(runs == "runs" ? "" : $" --runs {runs}")}");
                return ExitCodes.Interrupted;
            }
            StatusPrinter.Print(status, runs);
            return status.State == ExperimentState.Succeeded ? ExitCodes.Success : ExitCodes.Failed;
        }
        finally
        {
            await TesseraWebHost.StopAsync(host, TimeSpan.FromSeconds(60));
            await Log.CloseAndFlushAsync();
        }
    }
}
