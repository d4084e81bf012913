using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>`tessera list`: every experiment the cluster knows, newest first, with its state.</summary>
public sealed class ListCommand : AsyncCommand<GatewaySettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, GatewaySettings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "list");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken);
        if (connection is null) return ExitCodes.Unavailable;
        var scheduler = connection.Client.GetGrain<ISchedulerGrain>(0);
        var experiments = await scheduler.List();
        // Experiments waiting for slots show as queued, with their place and what they wait for.
        var queue = (await scheduler.Snapshot()).Queue.ToDictionary(q => q.Request.ExperimentId);
        var table = new Table().AddColumns("id", "experiment", "submitted (UTC)", "state", "progress");
        foreach (var listing in experiments)
        {
            ExperimentStatus status;
            try { status = await connection.Client.GetGrain<IExperimentGrain>(listing.Id).GetStatus(); }
            catch (KeyNotFoundException) { continue; } // listed, but its grain stopped before its first write: it never started
            string progress = status.Progress is { } p ? $"{p.Stage} {p.Step}/{p.TotalSteps}" : $"{status.Completed.Count}/{status.TotalStages} stages";
            string state = status.State.ToString().ToLowerInvariant();
            if (!status.IsFinished && queue.TryGetValue(listing.Id, out var queued))
                (state, progress) = ($"queued #{queued.Position}", $"{progress}; {queued.Waiting}");
            table.AddRow(Markup.Escape(listing.Id), Markup.Escape(listing.Name), listing.SubmittedAt.ToString("yyyy-MM-dd HH:mm:ss"),
                state, Markup.Escape(progress));
        }
        AnsiConsole.Write(table);
        return ExitCodes.Success;
    }
}
