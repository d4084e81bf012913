using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera resume &lt;id&gt;`: continues a failed, cancelled or interrupted experiment from the stage where it stopped
/// (that stage from its newest resumable checkpoint). Embedded by default, like `tessera run`, over the same runs
/// directory; with --gateway it asks a running silo instead and returns at once.
/// </summary>
public sealed class ResumeCommand : AsyncCommand<ResumeCommand.Settings>
{
    /// <summary>
    /// The id, and where: --runs is the artifact directory of an embedded resume; --gateway or --redis resume on
    /// running silos instead.
    /// </summary>
    public sealed class Settings : ExperimentSettings;

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Gateway is not null || settings.Redis is not null)
        {
            Logging.Configure(settings.Runs, "resume");
            await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken);
            if (connection is null) return ExitCodes.Unavailable;
            return await Refusable(async () =>
            {
                var status = await connection.Client.GetGrain<IExperimentGrain>(settings.Id).Resume();
                AnsiConsole.MarkupLineInterpolated($"{status.Id} resumes at stage [bold]{status.CurrentStage}[/]; follow it with: tessera watch {status.Id}");
                return ExitCodes.Success;
            });
        }
        if (!Directory.Exists(settings.Runs))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] runs directory '{settings.Runs}' does not exist; pass the --runs the experiment ran with");
            return ExitCodes.InvalidInput;
        }
        return await Refusable(() => EmbeddedRun.RunAsync(settings.Runs, "resume", async client =>
        {
            var experiment = client.GetGrain<IExperimentGrain>(settings.Id);
            var status = await experiment.Resume();
            AnsiConsole.MarkupLineInterpolated($"experiment [bold]{status.Id}[/] resumes at stage [bold]{status.CurrentStage}[/] ({status.Completed.Count}/{status.TotalStages} done, embedded silo)");
            return experiment;
        }, cancellationToken));
    }

    /// <summary>An unknown id, or an experiment that succeeded or still runs, is bad input, not a failure.</summary>
    static async Task<int> Refusable(Func<Task<int>> resume)
    {
        try { return await resume(); }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
    }
}
