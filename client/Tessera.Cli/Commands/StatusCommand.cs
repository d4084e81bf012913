using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>`tessera status &lt;id&gt;`: one experiment's state, progress and finished stages.</summary>
public sealed class StatusCommand : AsyncCommand<ExperimentSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ExperimentSettings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "status");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken);
        if (connection is null) return ExitCodes.Unavailable;
        try
        {
            var experiment = connection.Client.GetGrain<IExperimentGrain>(settings.Id);
            StatusPrinter.Print(await UnreachableRetry.Default.RunAsync(experiment.GetStatus,
                message => AnsiConsole.MarkupLineInterpolated($"[yellow]{message}[/]"), cancellationToken));
            return ExitCodes.Success;
        }
        catch (KeyNotFoundException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return ExitCodes.InvalidInput;
        }
    }
}
