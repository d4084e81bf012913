using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera cancel &lt;id&gt;`: stops an experiment and marks it cancelled; `tessera resume` continues it. By default the
/// running stage first writes a checkpoint at its next step (<see cref="GracefulStop"/>), so the resume repeats no steps;
/// `--now` stops at once, and the resume repeats the steps since the stage's last periodic checkpoint.
/// </summary>
public sealed class CancelCommand : AsyncCommand<CancelCommand.Settings>
{
    public sealed class Settings : ExperimentSettings
    {
        [CommandOption("--now")]
        [Description("Stop at once, without the checkpoint at the next step.")]
        public bool Now { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "cancel");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken);
        if (connection is null) return ExitCodes.Unavailable;
        var experiment = connection.Client.GetGrain<IExperimentGrain>(settings.Id);
        try
        {
            await experiment.GetStatus(); // an unknown id is an error, not a silent no-op
            if (settings.Now) await experiment.Stop(StopRequest.Cancel);
            else await GracefulStop.StopAsync(experiment, cancellationToken);
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
