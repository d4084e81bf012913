namespace Tessera.Collective;

/// <summary>
/// The ring is broken (a rank is late, gone, or refused us). <see cref="MissingRank"/> names the rank to blame
/// when it is known, so the coordinator can re-form the group without it.
/// </summary>
public sealed class CollectiveException : Exception
{
    public CollectiveException(string experimentId, long generation, int rank, int? missingRank, string message, Exception? inner = null)
        : base($"experiment {experimentId} generation {generation} rank {rank}: {message}", inner)
    {
        ExperimentId = experimentId;
        Generation = generation;
        Rank = rank;
        MissingRank = missingRank;
    }

    public string ExperimentId { get; }
    public long Generation { get; }
    /// <summary>The rank that raised it.</summary>
    public int Rank { get; }
    public int? MissingRank { get; }
}
