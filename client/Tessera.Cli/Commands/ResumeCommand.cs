using System.ComponentModel;
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
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<id>")]
        [Description("Experiment id, as `tessera run` or `tessera submit` printed it.")]
        public string Id { get; set; } = "";

        [CommandOption("--runs <DIR>")]
        [Description("Artifact store directory the experiment ran in (default ./runs).")]
        [DefaultValue("runs")]
        public string Runs { get; set; } = "runs";

        [CommandOption("--gateway <PORT>")]
        [Description("Resume on the silo at this gateway port instead of in an embedded silo.")]
        public int? Gateway { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Gateway is { } port)
        {
            Logging.Configure(settings.Runs, "resume");
            await using var connection = await ClusterConnection.TryConnectAsync(port, cancellationToken);
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
