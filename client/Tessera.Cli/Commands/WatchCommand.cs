using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>`tessera watch &lt;id&gt;`: follows an experiment on a running silo until it ends; Ctrl+C stops watching only.</summary>
public sealed class WatchCommand : AsyncCommand<ExperimentSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ExperimentSettings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "watch");
        using var interrupt = Interrupt.OnCtrlC(cancellationToken);
        await using var connection = await ClusterConnection.TryConnectAsync(settings, interrupt.Token);
        if (connection is null) return ExitCodes.Unavailable;
        var experiment = connection.Client.GetGrain<IExperimentGrain>(settings.Id);
        try
        {
            ExperimentStatus status = await ProgressView.FollowAsync(experiment, interrupt.Token);
            StatusPrinter.Print(status);
            return status.State == ExperimentState.Succeeded ? ExitCodes.Success : ExitCodes.Failed;
        }
        catch (KeyNotFoundException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (TimeoutException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}; {settings.Id} may still be running (tessera watch {settings.Id} again later)");
            return ExitCodes.Unavailable;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLineInterpolated($"stopped watching; {settings.Id} keeps running (tessera cancel {settings.Id} stops it)");
            return ExitCodes.Interrupted;
        }
    }
}
