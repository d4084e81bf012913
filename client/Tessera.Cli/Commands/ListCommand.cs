using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>`tessera list`: every experiment the cluster knows, newest first, with its state.</summary>
public sealed class ListCommand : AsyncCommand<ListCommand.Settings>
{
    public sealed class Settings : GatewaySettings
    {
        [CommandOption("--json")] [Description(JsonOutput.OptionDescription)]
        public bool Json { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Logging.Configure(settings.Runs, "list");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken, JsonOutput.Messages(settings.Json));
        if (connection is null) return ExitCodes.Unavailable;
        var scheduler = connection.Client.GetGrain<ISchedulerGrain>(0);
        var experiments = await scheduler.List();
        // Experiments waiting for slots show as queued, with their place and what they wait for.
        var queue = (await scheduler.Snapshot()).Queue.ToDictionary(q => q.Request.ExperimentId);
        var rows = new List<ListedExperimentJson>();
        foreach (var listing in experiments)
        {
            ExperimentStatus status;
            try { status = await connection.Client.GetGrain<IExperimentGrain>(listing.Id).GetStatus(); }
            catch (KeyNotFoundException) { continue; } // listed, but its grain stopped before its first write: it never started
            rows.Add(ListedExperimentJson.From(listing, status, status.IsFinished ? null : queue.GetValueOrDefault(listing.Id)));
        }
        if (settings.Json) JsonOutput.Write(new ExperimentListJson(rows));
        else AnsiConsole.Write(Table(rows));
        return ExitCodes.Success;
    }

    static Table Table(IEnumerable<ListedExperimentJson> rows)
    {
        var table = new Table().AddColumns("id", "experiment", "submitted (UTC)", "state", "progress");
        foreach (var row in rows)
        {
            string progress = row.Step is { } step ? $"{row.Stage} {step}/{row.TotalSteps}" : $"{row.CompletedStages}/{row.TotalStages} stages";
            string state = row.State.ToString().ToLowerInvariant();
            if (row.QueuePosition is { } position) (state, progress) = ($"queued #{position}", $"{progress}; {row.Waiting}");
            table.AddRow(Markup.Escape(row.Id), Markup.Escape(row.Name), row.SubmittedAt.ToString("yyyy-MM-dd HH:mm:ss"), state, Markup.Escape(progress));
        }
        return table;
    }
}
