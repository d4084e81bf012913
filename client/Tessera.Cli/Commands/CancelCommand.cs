using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>`tessera cancel &lt;id&gt;`: stops an experiment's ranks and marks it cancelled; `tessera resume` continues it.</summary>
public sealed class CancelCommand : AsyncCommand<ExperimentSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ExperimentSettings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "cancel");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken);
        if (connection is null) return ExitCodes.Unavailable;
        var experiment = connection.Client.GetGrain<IExperimentGrain>(settings.Id);
        try
        {
            await experiment.GetStatus(); // an unknown id is an error, not a silent no-op
            await experiment.Cancel();
            StatusPrinter.Print(await experiment.GetStatus());
            return ExitCodes.Success;
        }
        catch (KeyNotFoundException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
    }
}
