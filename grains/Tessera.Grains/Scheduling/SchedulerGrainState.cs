namespace Tessera.Grains;

/// <summary>What the scheduler persists, so that a new activation (after its silo died) carries on where it was.</summary>
[GenerateSerializer]
public sealed class SchedulerGrainState
{
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
}

[GenerateSerializer]
public sealed record SiloEntry([property: Id(0)] string Name, [property: Id(1)] int Slots);

[GenerateSerializer]
public sealed record QueueEntry([property: Id(0)] SlotRequest Request, [property: Id(1)] DateTimeOffset QueuedAt);
