using System.ComponentModel;
using System.Text.Json;
using System.Text.RegularExpressions;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Bench;
using Tessera.Silo.Api;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>
/// `tessera-bench submit`: N concurrent submissions from one client against a running cluster, every experiment
/// followed to its end (<see cref="SubmitLoad"/>). Exit 0 only if nothing was lost or duplicated, nothing failed, no
/// submission ended in an error other than a quota refusal, and the queue drained within --timeout.
/// </summary>
public sealed class BenchSubmitCommand : AsyncCommand<BenchSubmitCommand.Settings>
{
    public sealed class Settings : GatewaySettings
    {
        [CommandOption("--spec <FILE>")]
        [Description("Experiment each submission sends (default infra/load/load.yaml); its experiment name gets the team appended.")]
        [DefaultValue("infra/load/load.yaml")]
        public string Spec { get; set; } = "infra/load/load.yaml";

        [CommandOption("-n|--count <N>")]
        [Description("Submissions (default 200); `--n` works too.")]
        [DefaultValue(200)]
        public int N { get; set; } = 200;

        [CommandOption("--concurrency <N>")]
        [Description("Submissions in flight at once (default: all of them).")]
        public int? Concurrency { get; set; }

        [CommandOption("--teams <TEAM:PRIORITY,...>")]
        [Description("Teams and their priorities, taken in turn by the submissions (default vision:0,audio:10,text:-5).")]
        [DefaultValue("vision:0,audio:10,text:-5")]
        public string Teams { get; set; } = "vision:0,audio:10,text:-5";

        [CommandOption("--attempts <N>")]
        [Description("Attempts of each submission when the cluster does not answer in time, under one key (default 5).")]
        [DefaultValue(Submissions.DefaultAttempts)]
        public int Attempts { get; set; } = Submissions.DefaultAttempts;

        [CommandOption("--timeout <SECONDS>")]
        [Description("How long to wait for every experiment to finish (default 3600).")]
        [DefaultValue(3600)]
        public int Timeout { get; set; } = 3600;

        [CommandOption("--json <FILE>")]
        [Description("Also write the results, machine and settings as JSON.")]
        public string? Json { get; set; }

        public override ValidationResult Validate()
        {
            if (N < 1 || Concurrency is < 1 || Attempts < 1 || Timeout < 1)
                return ValidationResult.Error("--n, --concurrency, --attempts and --timeout must be at least 1");
            return ParseTeams(Teams, out _) is { } problem ? ValidationResult.Error($"--teams {problem}") : ValidationResult.Success();
        }
    }

    /// <summary>"team:priority,..." into pairs; null if fine, else what is wrong.</summary>
    public static string? ParseTeams(string text, out List<(string Team, int Priority)> teams)
    {
        teams = [];
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pair = part.Split(':');
            if (pair.Length != 2 || !Regex.IsMatch(pair[0], "^[A-Za-z0-9_-]+$") || !int.TryParse(pair[1], out int priority))
                return $"'{part}' is not TEAM:PRIORITY (a name of letters, digits, - or _, and a whole number)";
            teams.Add((pair[0], priority));
        }
        return teams.Count == 0 ? "names no team" : null;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!SpecFiles.TryLoad(settings.Spec, out var spec, out string yaml)) return ExitCodes.InvalidInput;
        ParseTeams(settings.Teams, out var teams);
        // The spec text as written, with its team, priority and name replaced (or added) per team.
        var variants = teams.Select(t => (t.Team, Name: $"{spec.Experiment}-{t.Team}", Yaml: WithTopLevel(yaml,
            ("experiment", $"{spec.Experiment}-{t.Team}"), ("team", t.Team), ("priority", t.Priority.ToString())))).ToList();
        var submissions = Enumerable.Range(0, settings.N).Select(i => variants[i % variants.Count]).ToList();

        Logging.Configure(settings.Runs, "bench-submit");
        using var interrupt = Interrupt.OnCtrlC(cancellationToken);
        await using var connection = await ClusterConnection.TryConnectAsync(settings, interrupt.Token);
        if (connection is null) return ExitCodes.Unavailable;
        string loadBefore = BenchMachine.LoadAverage();
        int concurrency = settings.Concurrency ?? settings.N;
        Console.Error.WriteLine($"bench submit: {settings.N} submissions of {settings.Spec}, {concurrency} at once, to {connection.Where}");
        var load = new SubmitLoad(connection.Client, connection.Where, settings.Attempts, line => Console.Error.WriteLine($"bench submit: {line}"));
        var result = await load.RunAsync(submissions, settings.Spec, concurrency, TimeSpan.FromSeconds(settings.Timeout), interrupt.Token);

        Print(result, settings, concurrency, loadBefore);
        if (settings.Json is not null)
        {
            var report = new
            {
                Machine = new { BenchMachine.Cores, BenchMachine.MemoryBytes, BenchMachine.Os, BenchMachine.Dotnet, LoadAverageBefore = loadBefore, LoadAverageAfter = BenchMachine.LoadAverage() },
                Settings = new { settings.Spec, settings.N, Concurrency = concurrency, settings.Teams, settings.Attempts, settings.Timeout, Cluster = connection.Where },
                Result = result, result.Passed, Utc = DateTime.UtcNow,
            };
            await File.WriteAllTextAsync(settings.Json, JsonSerializer.Serialize(report, new JsonSerializerOptions(ApiJson.Options) { WriteIndented = true }), interrupt.Token);
            Console.WriteLine($"wrote {settings.Json}");
        }
        return result.Passed ? ExitCodes.Success : ExitCodes.Failed;
    }

    /// <summary>Replaces the top-level <c>key:</c> line of each pair, or adds it at the top when the spec has none.</summary>
    static string WithTopLevel(string yaml, params (string Key, string Value)[] pairs)
    {
        foreach (var (key, value) in pairs)
        {
            var line = new Regex($"^{key}:.*$", RegexOptions.Multiline);
            yaml = line.IsMatch(yaml) ? line.Replace(yaml, $"{key}: {value}", 1) : $"{key}: {value}\n{yaml}";
        }
        return yaml;
    }

    static void Print(SubmitLoadResult r, Settings settings, int concurrency, string loadBefore)
    {
        static string Lines(IEnumerable<string> items) => string.Concat(items.Take(10).Select(i => $"\n      {i}"));
        static string Counted(IReadOnlyDictionary<string, int> reasons) => Lines(reasons.Select(r => $"{r.Value} x {r.Key}"));
        Console.WriteLine($"""

            bench submit: {r.Submitted} submissions of {settings.Spec} from one client, {concurrency} at once (teams {settings.Teams})
              submissions answered  after {r.SubmitSeconds:F1} s; accepted in p50 {r.SubmitP50Ms:F0} ms, p99 {r.SubmitP99Ms:F0} ms, max {r.SubmitMaxMs:F0} ms; {r.Retries} retried attempt(s)
              accepted              {r.Accepted}
              refused (quota)       {r.Refused}{Counted(r.RefusalsByReason)}
              errors                {r.Errors}{Counted(r.ErrorsByReason)}
              completed             {r.Completed}
              failed                {r.Failed}{Counted(r.FailuresByReason)}
              lost                  {r.Lost.Count}{Lines(r.Lost)}
              duplicated            {r.Duplicated.Count}{Lines(r.Duplicated)}
              queue                 peak {r.PeakPending} pending, {r.PeakRunning} running at once; drained {(r.DrainSeconds is { } d ? $"after {d:F0} s" : "never (timed out)")}
              machine               {BenchMachine.Cores} cores, load average before {loadBefore}, after {BenchMachine.LoadAverage()}
            {(r.Passed ? "PASSED: 0 lost, 0 duplicated, 0 failed, 0 errors; the queue drained" : "FAILED")}
            """);
    }
}
