using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>`tessera cluster`: the silos and their slots, the stages holding slots, the queue, the team quotas.</summary>
public sealed class ClusterCommand : AsyncCommand<ClusterCommand.Settings>
{
    public sealed class Settings : GatewaySettings
    {
        [CommandOption("--quota <TEAM=SLOTS>")]
        [Description("Set a team's slot quota first (TEAM=none lifts it).")]
        public string? Quota { get; set; }

        [CommandOption("--json")] [Description(JsonOutput.OptionDescription)]
        public bool Json { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        (string Team, int? Slots)? quota = null;
        if (settings.Quota is { } text)
        {
            var parts = text.Split('=', 2);
            if (parts.Length != 2 || parts[0].Length == 0 || !(parts[1] == "none" || int.TryParse(parts[1], out int n) && n >= 0))
            {
                JsonOutput.Messages(settings.Json).MarkupLineInterpolated($"[red]error:[/] --quota '{text}': expected TEAM=SLOTS (a whole number >= 0) or TEAM=none");
                return ExitCodes.InvalidInput;
            }
            quota = (parts[0], parts[1] == "none" ? null : int.Parse(parts[1]));
        }
        Logging.Configure(settings.Runs, "cluster");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken, JsonOutput.Messages(settings.Json));
        if (connection is null) return ExitCodes.Unavailable;
        var scheduler = connection.Client.GetGrain<ISchedulerGrain>(0);
        if (quota is { } q) await scheduler.SetQuota(q.Team, q.Slots);
        var snapshot = await scheduler.Snapshot();
        if (settings.Json) JsonOutput.Write(ClusterJson.From(snapshot));
        else Print(snapshot);
        return ExitCodes.Success;
    }

    static void Print(ClusterSnapshot cluster)
    {
        var silos = new Table().AddColumns("silo", "address", "slots", "in use");
        foreach (var silo in cluster.Silos)
            silos.AddRow(Markup.Escape(silo.Name), Markup.Escape(silo.Silo), Slots(silo.Slots) + (silo.Draining ? " (draining)" : ""), silo.InUse.ToString());
        AnsiConsole.Write(silos);

        var names = cluster.Silos.ToDictionary(s => s.Silo, s => s.Name);
        var running = new Table().AddColumns("experiment", "stage", "team", "ranks", "on");
        foreach (var grant in cluster.Running)
            running.AddRow(Markup.Escape(grant.Request.ExperimentId), grant.Request.StageIndex.ToString(), Markup.Escape(grant.Request.Team),
                grant.Silos.Count.ToString(), Markup.Escape(string.Join(", ", grant.Silos.Select(s => names.GetValueOrDefault(s, "(gone)")))));
        AnsiConsole.MarkupLine($"[bold]holding slots[/]: {cluster.Running.Count}");
        if (cluster.Running.Count > 0) AnsiConsole.Write(running);

        AnsiConsole.MarkupLine($"[bold]queue[/]: {cluster.Queue.Count}");
        if (cluster.Queue.Count > 0)
        {
            var queue = new Table().AddColumns("#", "experiment", "stage", "priority", "team", "ranks", "waiting");
            foreach (var q in cluster.Queue)
                queue.AddRow(q.Position.ToString(), Markup.Escape(q.Request.ExperimentId), q.Request.StageIndex.ToString(), q.Request.Priority.ToString(),
                    Markup.Escape(q.Request.Team), q.Request.Ranks.ToString(), Markup.Escape(q.Waiting));
            AnsiConsole.Write(queue);
        }
        if (cluster.Quotas.Count > 0)
            AnsiConsole.MarkupLineInterpolated($"quotas: {string.Join(", ", cluster.Quotas.Select(kv => $"{kv.Key}={kv.Value}"))}");
        if (cluster.Active is { Count: > 0 } || cluster.SubmissionQuota is not null)
            AnsiConsole.MarkupLineInterpolated(
                $"queued or running per team: {(cluster.Active is { Count: > 0 } counts ? string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}")) : "none")}; submission quota: {(cluster.SubmissionQuota is int perTeam ? $"{perTeam} a team" : "none")}");
    }

    static string Slots(int slots) => slots == SchedulerLimits.Unlimited ? "unlimited" : slots.ToString();
}
