using System.Diagnostics;
using Tessera.Grains;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench;

/// <summary>One submission of the load: its team, key and what came back (an id, a quota refusal or an error).</summary>
public sealed record SubmitOutcome(int Index, string Team, string Key, string? Id, string? Refusal, string? Error, int Attempts, double Seconds);

/// <summary>What the load run found; see <see cref="SubmitLoad"/>.</summary>
public sealed record SubmitLoadResult(
    int Submitted, int Accepted, int Refused, int Errors, int Retries, double SubmitSeconds,
    double SubmitP50Ms, double SubmitP99Ms, double SubmitMaxMs,
    int Completed, int Failed, IReadOnlyList<string> Lost, IReadOnlyList<string> Duplicated,
    int PeakPending, int PeakRunning, double? DrainSeconds,
    IReadOnlyDictionary<string, int> RefusalsByReason, IReadOnlyDictionary<string, int> ErrorsByReason, IReadOnlyDictionary<string, int> FailuresByReason)
{
    public bool Passed => Lost.Count == 0 && Duplicated.Count == 0 && Failed == 0 && Errors == 0 && DrainSeconds is not null;
}

/// <summary>
/// N submissions at once from one client, as a dashboard or frontend would send them, each under its own idempotency
/// key with the CLI's retries; then every accepted experiment is followed to its end. It checks that nothing is lost
/// (an accepted id the cluster does not know, or that never finishes) and nothing runs twice: every key asked again
/// must return its experiment, no two keys may share one, the scheduler may list no experiment of this run that no
/// submission returned, and no stage may complete twice. Queue figures come from polling every experiment's status.
/// </summary>
public sealed class SubmitLoad(IClusterClient client, string where, int attempts, Action<string> say)
{
    /// <summary>Runs <paramref name="submissions"/> (team and spec text of each) with at most <paramref name="concurrency"/> in flight.</summary>
    public async Task<SubmitLoadResult> RunAsync(IReadOnlyList<(string Team, string Name, string Yaml)> submissions, string specFile,
        int concurrency, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string run = $"{Random.Shared.Next(0x10000):x4}";
        var clock = Stopwatch.StartNew();
        var outcomes = new SubmitOutcome?[submissions.Count];
        var statuses = new Dictionary<string, ExperimentStatus?>();
        int retries = 0;
        using var gate = new SemaphoreSlim(concurrency);
        var sending = Task.WhenAll(submissions.Select(async (s, i) =>
        {
            await gate.WaitAsync(cancellationToken);
            try { outcomes[i] = await SubmitOne(i, s.Team, $"bench-{run}-{i}", $"{s.Name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{run}-{i:D4}",
                new ExperimentSubmission(s.Yaml, specFile, DateTimeOffset.UtcNow), () => Interlocked.Increment(ref retries), cancellationToken); }
            finally { gate.Release(); }
        }));

        // Follow while submitting: the queue builds up during the burst.
        int peakPending = 0, peakRunning = 0;
        double? submitSeconds = null, drainSeconds = null, lastSay = 0;
        var deadline = clock.Elapsed + timeout;
        while (true)
        {
            if (submitSeconds is null && sending.IsCompleted)
            {
                await sending;
                submitSeconds = clock.Elapsed.TotalSeconds;
                say($"all {submissions.Count} submissions answered after {submitSeconds:F1} s");
            }
            foreach (var outcome in outcomes)
                if (outcome?.Id is { } id && !statuses.ContainsKey(id)) statuses[id] = null;
            await PollAll(statuses, cancellationToken);
            int pending = statuses.Values.Count(s => s?.State == ExperimentState.Pending);
            int running = statuses.Values.Count(s => s?.State == ExperimentState.Running);
            (peakPending, peakRunning) = (Math.Max(peakPending, pending), Math.Max(peakRunning, running));
            if (submitSeconds is not null && statuses.Values.All(s => s?.IsFinished == true))
            {
                drainSeconds = clock.Elapsed.TotalSeconds;
                break;
            }
            if (clock.Elapsed > deadline) { say($"timed out after {timeout.TotalSeconds:F0} s: {pending} pending, {running} running"); break; }
            if (clock.Elapsed.TotalSeconds - lastSay >= 10)
            {
                lastSay = clock.Elapsed.TotalSeconds;
                say($"{clock.Elapsed.TotalSeconds:F0} s: {outcomes.Count(o => o is not null)}/{submissions.Count} answered, {pending} pending, {running} running, {statuses.Values.Count(s => s?.IsFinished == true)} finished");
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
        submitSeconds ??= clock.Elapsed.TotalSeconds;
        var answered = outcomes.OfType<SubmitOutcome>().ToList();
        var duplicated = await FindDuplicates(answered, submissions, specFile, statuses, run);
        var lost = statuses.Where(s => s.Value is null || !s.Value.IsFinished)
            .Select(s => s.Value is null ? $"{s.Key}: the cluster does not know it" : $"{s.Key}: still {s.Value.State.ToString().ToLowerInvariant()}").ToList();
        var failed = statuses.Values.Where(s => s is { IsFinished: true, State: not ExperimentState.Succeeded }).ToList();
        var latencies = answered.Where(o => o.Id is not null).Select(o => o.Seconds * 1000).Order().ToList();
        return new SubmitLoadResult(
            submissions.Count, answered.Count(o => o.Id is not null), answered.Count(o => o.Refusal is not null), answered.Count(o => o.Error is not null),
            retries, submitSeconds.Value, Percentile(latencies, 0.5), Percentile(latencies, 0.99), latencies.LastOrDefault(),
            statuses.Values.Count(s => s?.State == ExperimentState.Succeeded), failed.Count, lost, duplicated, peakPending, peakRunning, drainSeconds,
            Count(answered.Select(o => o.Refusal)), Count(answered.Select(o => o.Error)),
            Count(failed.Select(s => $"{s!.State.ToString().ToLowerInvariant()}: {Shorten(s.Error)}")));
    }

    async Task<SubmitOutcome> SubmitOne(int index, string team, string key, string id, ExperimentSubmission submission, Action retried,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        int tries = 1;
        try
        {
            var status = await Submissions.SubmitAsync(client, where, key, id, submission, attempts, (_, _) => { tries++; retried(); }, cancellationToken);
            return new SubmitOutcome(index, team, key, status.Id, null, null, tries, started.Elapsed.TotalSeconds);
        }
        catch (SubmissionQuotaException e) { return new SubmitOutcome(index, team, key, null, e.Message, null, tries, started.Elapsed.TotalSeconds); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new SubmitOutcome(index, team, key, null, null, $"{e.GetType().Name}: {Shorten(e.Message)}", tries, started.Elapsed.TotalSeconds);
        }
    }

    /// <summary>Every unfinished experiment's status, 64 calls at a time; an id the cluster does not know stays null.</summary>
    async Task PollAll(Dictionary<string, ExperimentStatus?> statuses, CancellationToken cancellationToken)
    {
        foreach (var chunk in statuses.Where(s => s.Value?.IsFinished != true).Select(s => s.Key).Chunk(64))
        {
            var polled = await Task.WhenAll(chunk.Select(async id =>
            {
                try { return (id, await client.GetGrain<IExperimentGrain>(id).GetStatus()); }
                catch (KeyNotFoundException) { return (id, (ExperimentStatus?)null); }
                catch (TimeoutException) { return (id, statuses[id]); } // asked again next round
            }).ToList()).WaitAsync(cancellationToken);
            foreach (var (id, status) in polled) statuses[id] = status;
        }
    }

    async Task<List<string>> FindDuplicates(List<SubmitOutcome> answered, IReadOnlyList<(string Team, string Name, string Yaml)> submissions,
        string specFile, Dictionary<string, ExperimentStatus?> statuses, string run)
    {
        var duplicated = new List<string>();
        foreach (var shared in answered.Where(o => o.Id is not null).GroupBy(o => o.Id).Where(g => g.Count() > 1))
            duplicated.Add($"{shared.Key}: returned for {shared.Count()} different keys");
        // Every accepted key asked once more: the same experiment must come back, and nothing new may start.
        foreach (var outcome in answered.Where(o => o.Id is not null))
        {
            var again = await Submissions.SubmitAsync(client, where, outcome.Key, $"replay-{outcome.Id}",
                new ExperimentSubmission(submissions[outcome.Index].Yaml, specFile, DateTimeOffset.UtcNow), attempts, null, CancellationToken.None);
            if (again.Id != outcome.Id) duplicated.Add($"key {outcome.Key}: first {outcome.Id}, asked again {again.Id}");
        }
        var listed = (await client.GetGrain<ISchedulerGrain>(0).List()).Where(e => e.Id.Contains($"-{run}-")).ToList();
        foreach (var stray in listed.Where(e => !statuses.ContainsKey(e.Id)))
            duplicated.Add($"{stray.Id}: the cluster has it, but no submission returned it");
        foreach (var id in listed.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => g.Key))
            duplicated.Add($"{id}: listed {listed.Count(e => e.Id == id)} times");
        foreach (var (id, status) in statuses)
        {
            if (status is null) continue;
            var names = status.Completed.Select(c => c.Stage).ToList();
            if (names.Count > status.TotalStages || names.Distinct().Count() != names.Count)
                duplicated.Add($"{id}: {names.Count} stage completions for {status.TotalStages} stage(s): {string.Join(", ", names)}");
        }
        return duplicated;
    }

    static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];

    static IReadOnlyDictionary<string, int> Count(IEnumerable<string?> reasons) =>
        reasons.OfType<string>().GroupBy(r => r).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count());

    static string Shorten(string? message)
    {
        string line = (message ?? "").Split('\n')[0].Trim();
        // Orleans' timeouts quote the whole request; the grain call is what tells them apart.
        int request = line.IndexOf(" for message: ", StringComparison.Ordinal);
        if (request > 0)
            return System.Text.RegularExpressions.Regex.Match(line, @"Tessera\.Grains\.(I\w+Grain)(\[[^\]]*\])?\.(\w+)") is { Success: true } call
                ? $"{line[..request]} for {call.Groups[1].Value}.{call.Groups[3].Value}"
                : line[..request];
        return line.Length > 200 ? line[..200] : line;
    }
}
