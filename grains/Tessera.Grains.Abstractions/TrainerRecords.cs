using Tessera.Infra.Specs;

namespace Tessera.Grains;

/// <summary>
/// Everything a trainer grain needs to start its worker: small, so it crosses the control plane. Bulk data
/// (shards, checkpoints) is named by store path, never carried. The spec travels parsed (see SpecSurrogates); id 2
/// was its YAML and stays retired.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TrainerAssignment(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] int StageIndex,
    [property: Id(6)] ExperimentSpec Spec,
    [property: Id(3)] int Rank,
    [property: Id(4)] int WorldSize,
    [property: Id(5)] long Generation = 0);

/// <summary>
/// A ring as the experiment grain sees it while ranks register: peer endpoints in rank order ("" for a rank
/// not registered yet), and once complete the experiment's secret for this generation.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RingMembership(
    [property: Id(0)] IReadOnlyList<string> Peers,
    [property: Id(1)] string Secret,
    [property: Id(2)] long Generation)
{
    public bool IsComplete => Peers.All(p => p.Length > 0);
    public IEnumerable<int> MissingRanks => Peers.Select((p, rank) => (p, rank)).Where(x => x.p.Length == 0).Select(x => x.rank);

    // The secret must never reach a log line through the record's generated ToString.
    public override string ToString() => $"RingMembership {{ Peers = {string.Join(", ", Peers)}, Generation = {Generation} }}";
}

/// <summary>A dataset shard as loaded in a silo: how many images and their shape.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardInfo(
    [property: Id(0)] string Dataset,
    [property: Id(1)] string Split,
    [property: Id(2)] int Index,
    [property: Id(3)] int Count,
    [property: Id(4)] int Channels,
    [property: Id(5)] int Height,
    [property: Id(6)] int Width);

/// <summary>A token shard as loaded in a silo: sequences, tokens per sequence, and the tokenizer that made it.</summary>
[GenerateSerializer, Immutable]
public sealed record TokenShardInfo(
    [property: Id(0)] string Dataset,
    [property: Id(1)] string Split,
    [property: Id(2)] int Index,
    [property: Id(3)] int Count,
    [property: Id(4)] int Length,
    [property: Id(5)] string TokenizerSha256);
