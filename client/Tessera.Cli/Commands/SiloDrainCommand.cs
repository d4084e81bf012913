using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera silo drain &lt;silo&gt;`: no new ranks go to the silo and its slots leave the inventory as they come free;
/// prints the experiments that still have ranks there. Stop the silo (gracefully) once none are left.
/// </summary>
public sealed class SiloDrainCommand : AsyncCommand<SiloDrainCommand.Settings>
{
    public sealed class Settings : GatewaySettings
    {
        [CommandArgument(0, "<silo>")]
        [Description("The silo's name (Silo_...), address, or HOST:PORT, as `tessera cluster` shows them.")]
        public string Silo { get; set; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "drain");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken);
        if (connection is null) return ExitCodes.Unavailable;
        DrainResult drained;
        try { drained = await connection.Client.GetGrain<ISchedulerGrain>(0).Drain(settings.Silo); }
        catch (ArgumentException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
        AnsiConsole.MarkupLineInterpolated($"draining {drained.Name} ({drained.Silo}): it takes no new ranks.");
        if (drained.Affected.Count == 0)
            AnsiConsole.MarkupLine("No experiment has ranks there: the silo can be stopped now.");
        foreach (var grant in drained.Affected)
            AnsiConsole.MarkupLineInterpolated(
                $"  {grant.Request.ExperimentId} (stage {grant.Request.StageIndex}) has {grant.Silos.Count(s => s == drained.Silo)} of its {grant.Silos.Count} rank(s) there");
        return ExitCodes.Success;
    }
}
