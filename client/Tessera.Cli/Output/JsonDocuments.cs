using Tessera.Grains;

namespace Tessera.Cli.Output;

// What `--json` prints, besides `status` (the HTTP API's experiment detail). These shapes are kept apart from the grain
// records, as the API's are, so that a grain record gaining a field does not change what scripts read; every field is
// listed in docs/cli-json.md, and JsonOutputTests holds the output to that list.

/// <summary>`tessera list --json`.</summary>
public sealed record ExperimentListJson(IReadOnlyList<ListedExperimentJson> Experiments);

/// <summary>
/// One experiment of the list. <c>stage</c>, <c>step</c>, <c>total_steps</c>: its latest progress report (kept after it
/// ends), or null before the first; <c>queue_position</c> and <c>waiting</c> are null unless it waits for slots.
/// </summary>
public sealed record ListedExperimentJson(
    string Id, string Name, string Team, ExperimentState State, string? CurrentStage, int CompletedStages, int TotalStages,
    string? Stage, int? Step, int? TotalSteps, DateTimeOffset SubmittedAt, DateTimeOffset? FinishedAt, string? Error, int? QueuePosition,
    string? Waiting)
{
    public static ListedExperimentJson From(ExperimentListing listing, ExperimentStatus status, QueuedRequest? queued) =>
        new(listing.Id, listing.Name, listing.Team, status.State, status.CurrentStage, status.Completed.Count, status.TotalStages,
            status.Progress?.Stage, status.Progress?.Step, status.Progress?.TotalSteps, listing.SubmittedAt, status.FinishedAt, status.Error,
            queued?.Position, queued?.Waiting);
}

/// <summary>`tessera cluster --json`: the scheduler's snapshot.</summary>
public sealed record ClusterJson(
    IReadOnlyList<ClusterSiloJson> Silos, IReadOnlyList<HeldSlotsJson> Running, IReadOnlyList<QueuedStageJson> Queue,
    IReadOnlyDictionary<string, int> Quotas, IReadOnlyDictionary<string, int> Active, int? SubmissionQuota)
{
    public static ClusterJson From(ClusterSnapshot cluster) => new(
        [.. cluster.Silos.Select(s => new ClusterSiloJson(s.Name, s.Silo, s.Slots == SchedulerLimits.Unlimited ? null : s.Slots, s.InUse, s.Draining))],
        [.. cluster.Running.Select(g => new HeldSlotsJson(g.Request.ExperimentId, g.Request.StageIndex, g.Request.Stage, g.Request.Team,
            g.Silos.Count, g.Silos, g.GrantedAt))],
        [.. cluster.Queue.Select(q => new QueuedStageJson(q.Position, q.Request.ExperimentId, q.Request.StageIndex, q.Request.Stage,
            q.Request.Priority, q.Request.Team, q.Request.Ranks, q.Request.Least, q.Waiting, q.QueuedAt))],
        cluster.Quotas, cluster.Active ?? new Dictionary<string, int>(), cluster.SubmissionQuota);
}

/// <summary>A silo; <c>slots</c> is null for one that does not count them (an embedded silo).</summary>
public sealed record ClusterSiloJson(string Name, string Address, int? Slots, int InUse, bool Draining);

/// <summary>A stage holding slots; <c>silos</c> are the addresses of its ranks' silos, in rank order.</summary>
public sealed record HeldSlotsJson(string Experiment, int StageIndex, string Stage, string Team, int Ranks, IReadOnlyList<string> Silos, DateTimeOffset GrantedAt);

public sealed record QueuedStageJson(
    int Position, string Experiment, int StageIndex, string Stage, int Priority, string Team, int Ranks, int MinRanks, string Waiting, DateTimeOffset QueuedAt);

/// <summary>`tessera validate --json`: the resolved spec when valid, the error when not.</summary>
public sealed record ValidationJson(string Spec, bool Valid, string? Experiment, int? Stages, string? ResolvedYaml, string? Error);

/// <summary>`tessera store verify --json`.</summary>
public sealed record StoreVerifyJson(string Location, string Prefix, int Artifacts, long Bytes, int Unrecorded, IReadOnlyList<CorruptArtifactJson> Corrupt, bool Ok);

public sealed record CorruptArtifactJson(string Path, string Message);
