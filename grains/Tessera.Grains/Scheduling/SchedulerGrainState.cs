namespace Tessera.Grains;

/// <summary>What the scheduler persists, so that a new activation (after its silo died) carries on where it was.</summary>
[GenerateSerializer]
public sealed class SchedulerGrainState
{
    /// <summary>What `tessera list` and the dashboard show: every counted experiment and the newest others (<see cref="TrimListing"/>).</summary>
    [Id(0)] public List<ExperimentListing> Experiments { get; set; } = [];
    /// <summary>Live silos by parsable address.</summary>
    [Id(1)] public Dictionary<string, SiloEntry> Silos { get; set; } = [];
    [Id(2)] public List<QueueEntry> Queue { get; set; } = [];
    /// <summary>Slots held, by experiment id.</summary>
    [Id(3)] public Dictionary<string, SlotGrant> Grants { get; set; } = [];
    [Id(4)] public Dictionary<string, int> Quotas { get; set; } = [];
    /// <summary>Silos being drained: no new ranks go there.</summary>
    [Id(5)] public HashSet<string> Draining { get; set; } = [];
    /// <summary>Experiments queued or running (from submission until they finish), by id, with their team: the submission quota counts these.</summary>
    [Id(6)] public Dictionary<string, string> Active { get; set; } = [];

    /// <summary>Experiments listed beyond those still counted: the newest this many stay.</summary>
    public const int ListedExperiments = 1000;

    /// <summary>
    /// Drops the oldest listings of experiments no longer counted, beyond <paramref name="keep"/> listings in all. The
    /// scheduler writes its whole state on every change, so a listing that only grew would make every write of a
    /// long-lived cluster slower. A dropped experiment keeps its state and its runs folder: `tessera status`,
    /// `watch` and `resume` still find it by id.
    /// </summary>
    public void TrimListing(int keep = ListedExperiments)
    {
        int excess = Experiments.Count - keep;
        if (excess <= 0) return;
        var dropped = Experiments.Where(e => !Active.ContainsKey(e.Id)).OrderBy(e => e.SubmittedAt).Take(excess).Select(e => e.Id).ToHashSet();
        Experiments.RemoveAll(e => dropped.Contains(e.Id));
    }
}

[GenerateSerializer]
public sealed record SiloEntry([property: Id(0)] string Name, [property: Id(1)] int Slots);

[GenerateSerializer]
public sealed record QueueEntry([property: Id(0)] SlotRequest Request, [property: Id(1)] DateTimeOffset QueuedAt);
