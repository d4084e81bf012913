namespace Tessera.Grains;

/// <summary>
/// Everything a trainer grain needs to start its worker: small, so it crosses the control plane. Bulk data
/// (shards, checkpoints) is named by store path, never carried.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TrainerAssignment(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] int StageIndex,
    [property: Id(2)] string ResolvedSpecYaml,
    [property: Id(3)] int Rank,
    [property: Id(4)] int WorldSize);

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
