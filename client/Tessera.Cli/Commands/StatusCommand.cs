using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>`tessera status &lt;id&gt;`: one experiment's state, progress and finished stages.</summary>
public sealed class StatusCommand : AsyncCommand<StatusCommand.Settings>
{
    public sealed class Settings : GatewaySettings
    {
        [CommandArgument(0, "<id>")]
        [Description("Experiment id, as printed by `tessera submit`.")]
        public string Id { get; set; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "status");
        await using var connection = await ClusterConnection.TryConnectAsync(settings.Gateway, settings.ClusterToken, cancellationToken, settings.TlsCertificate);
        if (connection is null) return ExitCodes.Unavailable;
        try
        {
            StatusPrinter.Print(await connection.Client.GetGrain<IExperimentGrain>(settings.Id).GetStatus());
            return ExitCodes.Success;
        }
        catch (KeyNotFoundException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return ExitCodes.InvalidInput;
        }
    }
}
