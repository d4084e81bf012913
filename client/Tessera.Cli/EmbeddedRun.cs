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
/// one experiment started on it, followed to the end. Ctrl+C cancels the experiment (its state and checkpoints stay,
/// so `tessera resume` continues it).
/// </summary>
public static class EmbeddedRun
{
    public static async Task<int> RunAsync(string runs, string logName, Func<IClusterClient, Task<IExperimentGrain>> start,
        CancellationToken cancellationToken)
    {
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
                AnsiConsole.MarkupLine("[yellow]interrupted: cancelling the experiment[/]");
                await experiment.Cancel();
                string id = experiment.GetPrimaryKeyString();
                AnsiConsole.MarkupLineInterpolated($"continue it with: tessera resume {id}{(runs == "runs" ? "" : $" --runs {runs}")}");
                return ExitCodes.Interrupted;
            }
            StatusPrinter.Print(status, runs);
            return status.State == ExperimentState.Succeeded ? ExitCodes.Success : ExitCodes.Failed;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
            await Log.CloseAndFlushAsync();
        }
    }
}
