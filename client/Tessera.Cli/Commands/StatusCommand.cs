using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;
using Tessera.Silo.Api;

namespace Tessera.Cli.Commands;

/// <summary>`tessera status &lt;id&gt;`: one experiment's state, progress and finished stages.</summary>
public sealed class StatusCommand : AsyncCommand<StatusCommand.Settings>
{
    public sealed class Settings : ExperimentSettings
    {
        [CommandOption("--json")] [Description(JsonOutput.OptionDescription)]
        public bool Json { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "status");
        var messages = JsonOutput.Messages(settings.Json);
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken, messages);
        if (connection is null) return ExitCodes.Unavailable;
        try
        {
            var experiment = connection.Client.GetGrain<IExperimentGrain>(settings.Id);
            var status = await UnreachableRetry.Default.RunAsync(experiment.GetStatus,
                message => messages.MarkupLineInterpolated($"[yellow]{message}[/]"), cancellationToken);
            // The same document as the HTTP API's GET /api/experiments/{id}.
            if (settings.Json) JsonOutput.Write(ExperimentViews.Detail(status, DateTimeOffset.UtcNow));
            else StatusPrinter.Print(status);
            return ExitCodes.Success;
        }
        catch (KeyNotFoundException e)
        {
            messages.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return ExitCodes.InvalidInput;
        }
    }
}
