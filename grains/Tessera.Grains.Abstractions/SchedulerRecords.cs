namespace Tessera.Grains;

/// <summary>
/// What an experiment asks the scheduler for before it starts a stage: all <see cref="Ranks"/> slots at once, or, when
/// fewer are free, as many as are free down to <see cref="MinRanks"/> (the stage's <c>min_workers</c>; 0 = Ranks).
/// One request per experiment at a time; asking for another stage gives up the slots of the previous one.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SlotRequest(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] int StageIndex,
    [property: Id(2)] int Ranks,
    [property: Id(3)] int Priority,
    [property: Id(4)] string Team,
    [property: Id(5)] string Stage = "",
    [property: Id(6)] int MinRanks = 0)
{
    /// <summary>The fewest slots this request can start with.</summary>
    public int Least => MinRanks is > 0 and var least ? Math.Min(least, Ranks) : Ranks;
}

/// <summary>The slots granted to a request: the silo (parsable Orleans silo address) of each rank, in rank order.</summary>
[GenerateSerializer, Immutable]
public sealed record SlotGrant(
    [property: Id(0)] SlotRequest Request,
    [property: Id(1)] IReadOnlyList<string> Silos,
    [property: Id(2)] DateTimeOffset GrantedAt);

/// <summary>A silo's device slots as the scheduler counts them; <see cref="SchedulerLimits.Unlimited"/> for an embedded silo.</summary>
[GenerateSerializer, Immutable]
public sealed record SiloSlots(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Name,
    [property: Id(2)] int Slots,
    [property: Id(3)] int InUse,
    [property: Id(4)] bool Draining = false);

/// <summary>A request waiting for slots; <see cref="Position"/> 1 is served first.</summary>
[GenerateSerializer, Immutable]
public sealed record QueuedRequest(
    [property: Id(0)] SlotRequest Request,
    [property: Id(1)] int Position,
    [property: Id(2)] DateTimeOffset QueuedAt,
    [property: Id(3)] string Waiting);

/// <summary>
/// The whole scheduler at one moment: what `tessera cluster` prints. <see cref="Active"/>: experiments queued or running
/// per team, what the <see cref="SubmissionQuota"/> (null: none) counts.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ClusterSnapshot(
    [property: Id(0)] IReadOnlyList<SiloSlots> Silos,
    [property: Id(1)] IReadOnlyList<SlotGrant> Running,
    [property: Id(2)] IReadOnlyList<QueuedRequest> Queue,
    [property: Id(3)] IReadOnlyDictionary<string, int> Quotas,
    [property: Id(4)] IReadOnlyDictionary<string, int>? Active = null,
    [property: Id(5)] int? SubmissionQuota = null);

/// <summary>A silo put to drain, and the stages that still have ranks on it.</summary>
[GenerateSerializer, Immutable]
public sealed record DrainResult(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<SlotGrant> Affected);

public static class SchedulerLimits
{
    /// <summary>Slots of a silo that does not count them (embedded mode: every stage starts, as before cluster mode).</summary>
    public const int Unlimited = int.MaxValue;
}
